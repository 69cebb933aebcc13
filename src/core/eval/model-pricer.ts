import type { Usage } from '../chat/chat-model-types.js';
import type { ChatModel } from '../ports.js';
import { findModelPrice, priceCall, type Pricing } from './pricing.js';

// What one call of a model costs, as the gateway and stage 1 ask it: a model is priced by the
// name it is priced as upstream (`priceKeyOf`: a configured model's `priceAs`, else the model or
// deployment it calls), looked up once; an unpriced remote model yields `undefined`, never a throw
// per request.

export interface ModelPricer {
  /** A served or shadow arm call of the gateway. */
  priceArm(model: Pick<ChatModel, 'id' | 'hosting'>, call: { usage?: Usage; latencyInMs: number }): number | undefined;
  /** A call by model id (stage-1 teacher answers). */
  priceModel(modelId: string, hosting: ChatModel['hosting'], usage: Usage | undefined, latencyInMs: number): number | undefined;
}

export function createModelPricer(pricing: Pricing, priceKeyOf: (modelId: string) => string = (id) => id): ModelPricer {
  const known = new Map<string, boolean>();
  const isPriced = (id: string, hosting: ChatModel['hosting']) => {
    let k = known.get(id);
    if (k === undefined) {
      k = hosting === 'in-process' || findModelPrice(pricing, priceKeyOf(id)) !== undefined;
      known.set(id, k);
    }
    return k;
  };
  const price = (id: string, hosting: ChatModel['hosting'], usage: Usage | undefined, latencyInMs: number) => {
    if (!isPriced(id, hosting) || (hosting === 'remote' && !usage)) return undefined;
    return priceCall(pricing, { modelId: priceKeyOf(id), hosting, usage, latencyInMs });
  };
  return {
    priceArm: (model, call) => price(model.id, model.hosting, call.usage, call.latencyInMs),
    priceModel: price,
  };
}
