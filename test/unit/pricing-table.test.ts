import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { buildOfflineReport, type OfflineArm } from '../../src/core/eval/offline-report.js';
import { DEFAULT_PRICING, createPricing, findModelPrice, parsePricing, priceCall } from '../../src/core/eval/pricing.js';
import { renderOfflineTable } from '../../src/core/eval/report-format.js';

const usage = { promptTokens: 1_000_000, completionTokens: 1_000_000 };
const costOf = (model: string, pricing = DEFAULT_PRICING) => priceCall(pricing, { modelId: model, hosting: 'remote', usage, latencyInMs: 1 });

describe('the built-in price table is dated data', () => {
  it('gives every entry a source URL, a deployment type, a provider and an effective date', () => {
    for (const [id, p] of Object.entries(DEFAULT_PRICING.models)) {
      expect(p.source, id).toMatch(/^https:\/\//);
      expect(p.deploymentType, id).toBeDefined();
      expect(p.provider, id).toBeDefined();
      expect(p.effectiveDate, id).toMatch(/^20\d\d-\d\d-\d\d$/);
      expect(p.note, id).toMatch(/onfirmed|Legacy/);
    }
  });

  it('prices the GPT-4.1 family, the gpt-4o snapshots and gpt-4o-mini at their published Azure OpenAI global prices', () => {
    // 1M input + 1M output tokens = input price + output price.
    expect(costOf('gpt-4.1')).toBeCloseTo(2 + 8, 12);
    expect(costOf('gpt-4.1-mini')).toBeCloseTo(0.4 + 1.6, 12);
    expect(costOf('gpt-4.1-nano')).toBeCloseTo(0.1 + 0.4, 12);
    expect(costOf('gpt-4o-2024-05-13')).toBeCloseTo(5 + 15, 12);
    expect(costOf('gpt-4o-2024-08-06')).toBeCloseTo(2.5 + 10, 12);
    expect(costOf('gpt-4o-2024-11-20')).toBeCloseTo(2.5 + 10, 12);
    expect(costOf('gpt-4o-mini')).toBeCloseTo(0.15 + 0.6, 12);
  });

  it('carries Azure AI Foundry serverless prices for DeepSeek, Llama 3.1 and Phi, not DeepSeek-direct ones', () => {
    const foundry = (id: string) => findModelPrice(DEFAULT_PRICING, id);
    for (const id of ['DeepSeek-V3', 'DeepSeek-V3-0324', 'DeepSeek-R1', 'Meta-Llama-3.1-405B-Instruct', 'Meta-Llama-3.1-70B-Instruct', 'Meta-Llama-3.1-8B-Instruct', 'Phi-4', 'Phi-4-mini-instruct', 'Phi-3.5-mini-instruct']) {
      expect(foundry(id)?.provider, id).toBe('azure-ai-foundry');
      expect(foundry(id)?.deploymentType, id).toBe('serverless');
    }
    expect(costOf('DeepSeek-V3')).toBeCloseTo(1.14 + 4.56, 12);
    expect(costOf('Meta-Llama-3.1-405B-Instruct')).toBeCloseTo(5.33 + 16, 12);
    // DeepSeek's own API names are another provider's prices: unknown here.
    expect(findModelPrice(DEFAULT_PRICING, 'deepseek-chat')).toBeUndefined();
    expect(findModelPrice(DEFAULT_PRICING, 'deepseek-reasoner')).toBeUndefined();
  });
});

describe('exact names and explicit aliases only', () => {
  it('an unlisted model has unknown cost, never the price of a name it starts with', () => {
    // The old longest-prefix lookup priced these as gpt-4 ($30 / $60) and gpt-4o ($2.50 / $10).
    for (const id of ['gpt-4.1-turbo-unlisted', 'gpt-4o-2024-99-99', 'gpt-4o-mini-2024-07-18.ft-abc-support', 'gpt-4-0125-preview', 'DeepSeek-V3.1']) {
      expect(findModelPrice(DEFAULT_PRICING, id), id).toBeUndefined();
      expect(() => costOf(id), id).toThrow(/Unknown cost/);
    }
    // A table that lists gpt-4 but not gpt-4.1 does not price gpt-4.1 as gpt-4.
    const legacyOnly = parsePricing({ builtIn: false, models: { 'gpt-4': { inputPerMillionUsd: 30, outputPerMillionUsd: 60 } } });
    expect(findModelPrice(legacyOnly, 'gpt-4.1')).toBeUndefined();
    expect(findModelPrice(legacyOnly, 'gpt-4.1-mini')).toBeUndefined();
    expect(findModelPrice(legacyOnly, 'gpt-4')?.id).toBe('gpt-4');
  });

  it('resolves aliases, case-insensitively', () => {
    expect(findModelPrice(DEFAULT_PRICING, 'gpt-4o')?.id).toBe('gpt-4o-2024-11-20');
    expect(findModelPrice(DEFAULT_PRICING, 'gpt-4.1-2025-04-14')?.id).toBe('gpt-4.1');
    expect(findModelPrice(DEFAULT_PRICING, 'gpt-4o-mini-2024-07-18')?.id).toBe('gpt-4o-mini');
    expect(findModelPrice(DEFAULT_PRICING, 'phi-4-mini')?.id).toBe('Phi-4-mini-instruct');
    expect(findModelPrice(DEFAULT_PRICING, 'Llama-3.1-405B')?.id).toBe('Meta-Llama-3.1-405B-Instruct');
    expect(findModelPrice(DEFAULT_PRICING, 'deepseek-v3')?.id).toBe('DeepSeek-V3');
    expect(findModelPrice(DEFAULT_PRICING, 'gpt-4o@data-zone')?.deploymentType).toBe('data-zone');
  });
});

describe('configuration overrides', () => {
  it('win over the built-in entry and over a built-in alias of the same name', () => {
    const p = parsePricing({
      models: {
        'DeepSeek-V3': { inputPerMillionUsd: 1, outputPerMillionUsd: 4, deploymentType: 'contract', effectiveDate: '2026-01-01', source: 'EA amendment 7' },
        // 'gpt-4o' is an alias of gpt-4o-2024-11-20 in the built-in table: the override takes it over.
        'gpt-4o': { inputPerMillionUsd: 2, outputPerMillionUsd: 9, aliases: ['my-4o-deployment'] },
        'gpt-4.1-turbo-unlisted': { inputPerMillionUsd: 3, outputPerMillionUsd: 12 },
      },
      functionsPlan: { instanceMemoryInMb: 4096 },
    });
    expect(costOf('DeepSeek-V3', p)).toBeCloseTo(5, 12);
    expect(costOf('deepseek-v3', p)).toBeCloseTo(5, 12);
    expect(findModelPrice(p, 'gpt-4o')?.id).toBe('gpt-4o');
    expect(costOf('my-4o-deployment', p)).toBeCloseTo(11, 12);
    expect(costOf('gpt-4o-2024-11-20', p)).toBeCloseTo(12.5, 12);
    expect(costOf('gpt-4.1-turbo-unlisted', p)).toBeCloseTo(15, 12);
    expect(costOf('gpt-4.1', p)).toBeCloseTo(10, 12);
    expect(p.functionsPlan.instanceMemoryInMb).toBe(4096);
    expect(p.functionsPlan.gbSecondUsd).toBe(DEFAULT_PRICING.functionsPlan.gbSecondUsd);
    expect(createPricing({ models: { x: { inputPerMillionUsd: 1, outputPerMillionUsd: 1 } } }).models.x).toBeDefined();
    // An overridden entry keeps the built-in aliases: the dated snapshot name gets the contract price too.
    const contract = createPricing({ models: { 'gpt-4.1': { inputPerMillionUsd: 1.8, outputPerMillionUsd: 7.2, deploymentType: 'contract' } } });
    expect(costOf('gpt-4.1-2025-04-14', contract)).toBeCloseTo(9, 12);
    expect(findModelPrice(contract, 'gpt-4.1')?.deploymentType).toBe('contract');
  });

  it('builtIn: false prices only the listed models', () => {
    const p = parsePricing({ builtIn: false, models: { mine: { inputPerMillionUsd: 1, outputPerMillionUsd: 1 } } });
    expect(Object.keys(p.models)).toEqual(['mine']);
    expect(findModelPrice(p, 'gpt-4.1')).toBeUndefined();
  });

  it('refuses invalid sections with a typed 400', () => {
    const bad = [
      'nope',
      { models: { x: { inputPerMillionUsd: -1, outputPerMillionUsd: 1 } } },
      { models: { x: { inputPerMillionUsd: 1, outputPerMillionUsd: 1, effectiveDate: 'March 2025' } } },
      { models: { x: { inputPerMillionUsd: 1, outputPerMillionUsd: 1, deploymentType: 'cheap' } } },
      { modles: {} },
      // Two entries claiming one name would make the price depend on key order.
      { models: { a: { inputPerMillionUsd: 1, outputPerMillionUsd: 1, aliases: ['shared'] }, b: { inputPerMillionUsd: 2, outputPerMillionUsd: 2, aliases: ['SHARED'] } } },
    ];
    for (const input of bad) {
      let err: unknown;
      try {
        parsePricing(input);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(input)).toBeInstanceOf(DistilleryError);
      expect((err as DistilleryError).status).toBe(400);
      expect((err as DistilleryError).code).toBe('invalid_pricing');
    }
    expect(parsePricing(undefined)).toEqual(DEFAULT_PRICING);
  });
});

describe('reports', () => {
  it('say "unknown cost" for an unlisted model instead of pricing it like a similar name', () => {
    const examples = ['a', 'b', 'c'].map((id) => ({ id, input: `question ${id}` }));
    const arm = (modelId: string): OfflineArm => ({
      name: modelId,
      modelId,
      hosting: 'remote',
      outputs: examples.map((e) => ({ exampleId: e.id, text: `answer ${e.id}`, latencyInMs: 100, usage: { promptTokens: 10, completionTokens: 5 } })),
    });
    const report = buildOfflineReport({ task: 't', kind: 'generation', examples, teacher: arm('gpt-4.1-turbo-unlisted'), candidate: arm('gpt-4.1-mini'), pricing: DEFAULT_PRICING });
    const teacher = report.arms.find((a) => a.role === 'teacher')!;
    const candidate = report.arms.find((a) => a.role === 'candidate')!;
    expect(teacher.cost).toBeNull();
    expect(candidate.cost!.perRequestUsd).toBeCloseTo((10 * 0.4 + 5 * 1.6) / 1e6, 15);
    const table = renderOfflineTable(report);
    expect(table).toMatch(/gpt-4\.1-turbo-unlisted.*unknown cost/);
  });
});
