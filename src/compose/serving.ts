import path from 'node:path';
import { FilePairSpool } from '../adapters/local/file-pair-spool.js';
import type { Config } from '../config.js';
import { createModelPricer } from '../core/eval/model-pricer.js';
import { priceNameOf, type Pricing } from '../core/eval/pricing.js';
import { PairClaimingChatService } from '../core/pairs/pair-claiming-chat-service.js';
import { PairWriter, type PairWriteStage } from '../core/pairs/pair-writer.js';
import type { ChatService, Clock, PairStore } from '../core/ports.js';
import { ChatGateway } from '../core/routing/chat-gateway.js';
import { recordPairMetrics } from '../telemetry.js';
import type { ComposeOptions } from './compose-options.js';
import type { Models } from './models.js';

// The serving path: the chat gateway and the pair writer behind it (records leave the response
// path through a bounded in-memory queue and a durable file outbox). HTTP serves `chat`: the
// gateway behind a claim on each answered request's pair (write-ahead waits, shutdown flushes).

export interface Serving {
  gateway: ChatGateway;
  /** What the HTTP app serves. */
  chat: ChatService;
  pairWriter: PairWriter;
}

const stageMessage: Record<PairWriteStage, string> = {
  store: 'pair store write of %n records failed; they stay in the outbox or in memory and are retried',
  spool: 'pair outbox append of %n records failed; they stay in memory (bounded) and are retried',
  rejected: 'pair store refused %n records for good; they are dropped (counted as rejected)',
};

/** One log line per second at most for refusals, with the running count: visible, never a flood. */
function refusalLogger(log: (m: string) => void, writer: () => PairWriter) {
  let lastAt = 0;
  return () => {
    const now = Date.now();
    if (now - lastAt < 1_000) return;
    lastAt = now;
    log(`pair record refused: memory queue full or writer closed (${writer().refused} refused so far); /healthz reports degraded`);
  };
}

export function createServing(config: Config, deps: { pairStore: PairStore; models: Models; pricing: Pricing; dataDir: string; clock: Clock; log: (m: string) => void }, options: ComposeOptions): Serving {
  const { settings } = config;
  const pairWriter: PairWriter = new PairWriter({
    store: deps.pairStore,
    spool: new FilePairSpool({ dir: settings.DISTILLERY_SPOOL_DIR ?? path.join(deps.dataDir, 'pair-spool') }),
    durability: settings.DISTILLERY_PAIR_DURABILITY,
    maxQueueLength: settings.DISTILLERY_PAIR_QUEUE_MAX,
    onError: (err, n, stage) => deps.log(`${stageMessage[stage].replace('%n', String(n))}: ${(err as Error).message}`),
    onOverflow: refusalLogger(deps.log, () => pairWriter),
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
  return { gateway, chat: new PairClaimingChatService(gateway, pairWriter), pairWriter };
}
