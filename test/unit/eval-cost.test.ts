import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import {
  DEFAULT_PRICING,
  createPricing,
  findModelPrice,
  parsePricing,
  priceCall,
  savingsLedger,
  summarizeCost,
} from '../../src/core/eval/pricing.js';

describe('pricing as data', () => {
  it('has defaults for the teachers and students named in the product', () => {
    for (const id of ['gpt-4o', 'gpt-4o-mini', 'DeepSeek-V3', 'DeepSeek-R1', 'Llama-3.1-405B', 'Llama-3.1-8B', 'Phi-4-mini', 'Phi-3.5-mini']) {
      const price = findModelPrice(DEFAULT_PRICING, id);
      expect(price, id).toBeDefined();
      expect(price!.effectiveDate, id).toMatch(/^20\d\d-/);
    }
  });

  it('finds exact names and aliases only (see pricing-table.test.ts)', () => {
    expect(findModelPrice(DEFAULT_PRICING, 'gpt-4o-mini-2024-07-18')?.id).toBe('gpt-4o-mini');
    expect(findModelPrice(DEFAULT_PRICING, 'gpt-4o-2024-08-06')?.id).toBe('gpt-4o-2024-08-06');
    expect(findModelPrice(DEFAULT_PRICING, 'phi-4-mini-instruct')?.id).toBe('Phi-4-mini-instruct');
    expect(findModelPrice(DEFAULT_PRICING, 'unknown-model')).toBeUndefined();
  });

  it('overrides take precedence and invalid tables are typed errors', () => {
    const p = createPricing({ models: { 'gpt-4o': { inputPerMillionUsd: 1, outputPerMillionUsd: 2 } }, functionsPlan: { instanceMemoryInMb: 4096 } });
    expect(p.models['gpt-4o']!.inputPerMillionUsd).toBe(1);
    expect(p.functionsPlan.instanceMemoryInMb).toBe(4096);
    expect(p.functionsPlan.gbSecondUsd).toBe(DEFAULT_PRICING.functionsPlan.gbSecondUsd);
    expect(() => parsePricing({ models: { x: { inputPerMillionUsd: -1, outputPerMillionUsd: 1 } }, functionsPlan: DEFAULT_PRICING.functionsPlan })).toThrow(DistilleryError);
    expect(() => parsePricing('nope')).toThrow(DistilleryError);
  });
});

describe('priceCall', () => {
  it('prices remote calls by tokens', () => {
    // 1,000 prompt tokens at $2.50/M + 500 completion tokens at $10/M.
    const usd = priceCall(DEFAULT_PRICING, { modelId: 'gpt-4o', hosting: 'remote', usage: { promptTokens: 1000, completionTokens: 500 }, latencyInMs: 3200 });
    expect(usd).toBeCloseTo(0.0075, 15);
  });

  it('prices in-process students by GB-seconds plus one execution', () => {
    // 480 ms × 2 GB × $0.000026 + $0.40 / 1M executions.
    const usd = priceCall(DEFAULT_PRICING, { modelId: 'clinc150@3', hosting: 'in-process', latencyInMs: 480 });
    expect(usd).toBeCloseTo(0.48 * 2 * 0.000026 + 0.4e-6, 15);
    const small = priceCall(DEFAULT_PRICING, { modelId: 'clinc150@3', hosting: 'in-process', latencyInMs: 480, memoryInMb: 512 });
    expect(small).toBeCloseTo(0.48 * 0.5 * 0.000026 + 0.4e-6, 15);
    const withMinimum = createPricing({ functionsPlan: { minimumBilledInMs: 1000 } });
    expect(priceCall(withMinimum, { modelId: 's', hosting: 'in-process', latencyInMs: 10 })).toBeCloseTo(2 * 0.000026 + 0.4e-6, 15);
  });

  it('refuses unknown models, missing usage and negative inputs with typed errors', () => {
    const call = (over: object) => () => priceCall(DEFAULT_PRICING, { modelId: 'gpt-4o', hosting: 'remote', usage: { promptTokens: 1, completionTokens: 1 }, latencyInMs: 1, ...over });
    expect(call({ modelId: 'nope' })).toThrow(DistilleryError);
    expect(call({ usage: undefined })).toThrow(/usage/);
    expect(call({ latencyInMs: -5 })).toThrow(DistilleryError);
    expect(call({ usage: { promptTokens: -1, completionTokens: 0 } })).toThrow(DistilleryError);
  });
});

describe('cost summaries and the savings ledger', () => {
  it('per request and per 1,000 requests', () => {
    expect(summarizeCost(200, 1.5)).toEqual({ requests: 200, totalUsd: 1.5, perRequestUsd: 0.0075, per1000RequestsUsd: 7.5 });
    expect(summarizeCost(0, 0).perRequestUsd).toBe(0);
  });

  it('nets shadow, judge and training costs off the teacher-only counterfactual', () => {
    const l = savingsLedger({ requests: 1000, teacherOnlyCostUsd: 10, servedCostUsd: 3, shadowCostUsd: 1, judgeCostUsd: 0.5, trainingCostUsd: 2 });
    expect(l.actualCostUsd).toBeCloseTo(6.5, 12);
    expect(l.grossSavingsUsd).toBeCloseTo(7, 12);
    expect(l.netSavingsUsd).toBeCloseTo(3.5, 12);
    expect(l.netSavingsRatio).toBeCloseTo(0.35, 12);
    // Running saving (7 − 1) / 1000 per request pays back 2.5 of fixed costs after 417 requests.
    expect(l.breakEvenRequests).toBe(417);
    const losing = savingsLedger({ requests: 10, teacherOnlyCostUsd: 1, servedCostUsd: 2 });
    expect(losing.netSavingsUsd).toBeCloseTo(-1, 12);
    expect(losing.breakEvenRequests).toBeNull();
    expect(() => savingsLedger({ requests: 1, teacherOnlyCostUsd: Number.NaN, servedCostUsd: 0 })).toThrow(DistilleryError);
  });
});
