import path from 'node:path';
import { FilePairSpool } from '../adapters/local/file-pair-spool.js';
import type { Config } from '../config.js';
import { createModelPricer } from '../core/eval/model-pricer.js';
import { priceNameOf, type Pricing } from '../core/eval/pricing.js';
import { PairWriter } from '../core/pairs/pair-writer.js';
import type { Clock, PairStore } from '../core/ports.js';
import { ChatGateway } from '../core/routing/chat-gateway.js';
import { recordPairMetrics } from '../telemetry.js';
import type { ComposeOptions } from './compose-options.js';
import type { Models } from './models.js';

// The serving path: the chat gateway and the pair writer behind it (records leave the response
// path through a bounded in-memory queue and a durable file outbox).

export interface Serving {
  gateway: ChatGateway;
  pairWriter: PairWriter;
}

export function createServing(config: Config, deps: { pairStore: PairStore; models: Models; pricing: Pricing; dataDir: string; clock: Clock; log: (m: string) => void }, options: ComposeOptions): Serving {
  const { settings } = config;
  const pairWriter = new PairWriter({
    store: deps.pairStore,
    spool: new FilePairSpool({ dir: settings.DISTILLERY_SPOOL_DIR ?? path.join(deps.dataDir, 'pair-spool') }),
    onError: (err, n) => deps.log(`pair store write of ${n} records failed, spooling and retrying: ${(err as Error).message}`),
  });
  const pricer = createModelPricer(deps.pricing, (id) => priceNameOf(config.document.models, id));
  const gateway = new ChatGateway({
    models: deps.models.resolver,
    pairs: pairWriter,
    clock: deps.clock,
    random: options.random ?? Math.random,
    price: pricer.priceArm,
    onBackgroundError: () => undefined,
    onPair: recordPairMetrics,
  });
  return { gateway, pairWriter };
}
