import { z } from 'zod';
import { invalidRequest } from '../errors.js';
import type { Usage } from '../chat/chat-model-types.js';

// Prices are data: a zod-validated table of per-model token prices and the Functions plan's
// compute prices. The defaults are public list prices for orientation only — every deployment
// must override them with its contract prices (Azure, OpenAI and DeepSeek change prices often, and
// enterprise agreements differ).

export const modelPriceSchema = z.object({
  /** USD per 1,000,000 input (prompt) tokens. */
  inputPerMillionUsd: z.number().nonnegative(),
  /** USD per 1,000,000 output (completion) tokens. */
  outputPerMillionUsd: z.number().nonnegative(),
  /** Other names the same model is served under (deployment names). */
  aliases: z.array(z.string().min(1)).default([]),
  /** Where the price comes from, and when. */
  source: z.string().optional(),
});

export const functionsPlanSchema = z.object({
  name: z.string().default('flex-consumption'),
  /** USD per GB-second of on-demand execution time. */
  gbSecondUsd: z.number().nonnegative(),
  /** USD per 1,000,000 executions. */
  perMillionExecutionsUsd: z.number().nonnegative(),
  /** Instance memory the plan bills (Flex Consumption bills the instance size: 512, 2048 or 4096 MB). */
  instanceMemoryInMb: z.number().positive(),
  /** Shortest billed duration per execution. */
  minimumBilledInMs: z.number().nonnegative().default(0),
  source: z.string().optional(),
});

export const pricingSchema = z.object({
  currency: z.literal('USD').default('USD'),
  models: z.record(z.string().min(1), modelPriceSchema),
  functionsPlan: functionsPlanSchema,
});

export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type FunctionsPlanPrice = z.infer<typeof functionsPlanSchema>;
export type Pricing = z.infer<typeof pricingSchema>;
export type PricingInput = z.input<typeof pricingSchema>;

export const DEFAULT_PRICING: Pricing = pricingSchema.parse({
  currency: 'USD',
  models: {
    // OpenAI API list price, gpt-4o-2024-08-06, as published on openai.com/api/pricing (2025-01).
    'gpt-4o': { inputPerMillionUsd: 2.5, outputPerMillionUsd: 10, source: 'OpenAI list price, 2025-01' },
    // OpenAI API list price, gpt-4o-mini-2024-07-18 (2025-01).
    'gpt-4o-mini': { inputPerMillionUsd: 0.15, outputPerMillionUsd: 0.6, source: 'OpenAI list price, 2025-01' },
    // Legacy GPT-4 (8k) list price; kept because MT-Bench's teacher answers come from it.
    'gpt-4': { inputPerMillionUsd: 30, outputPerMillionUsd: 60, source: 'OpenAI list price (legacy gpt-4 8k), 2024' },
    // DeepSeek API standard price, deepseek-chat (V3), cache miss (api-docs.deepseek.com, 2025-02).
    'DeepSeek-V3': { inputPerMillionUsd: 0.27, outputPerMillionUsd: 1.1, aliases: ['deepseek-chat', 'deepseek-v3'], source: 'DeepSeek API list price, 2025-02' },
    // DeepSeek API standard price, deepseek-reasoner (R1), cache miss (2025-02).
    'DeepSeek-R1': { inputPerMillionUsd: 0.55, outputPerMillionUsd: 2.19, aliases: ['deepseek-reasoner', 'deepseek-r1'], source: 'DeepSeek API list price, 2025-02' },
    // Azure AI Foundry serverless (pay-as-you-go) Meta-Llama-3.1-405B-Instruct, East US 2 (2024-09).
    'Llama-3.1-405B': { inputPerMillionUsd: 5.33, outputPerMillionUsd: 16, aliases: ['Meta-Llama-3.1-405B-Instruct'], source: 'Azure AI Foundry serverless list price, 2024-09' },
    // Azure AI Foundry serverless Meta-Llama-3.1-8B-Instruct (2024-09).
    'Llama-3.1-8B': { inputPerMillionUsd: 0.3, outputPerMillionUsd: 0.61, aliases: ['Meta-Llama-3.1-8B-Instruct'], source: 'Azure AI Foundry serverless list price, 2024-09' },
    // Azure AI Foundry serverless Phi-4-mini-instruct (2025-03).
    'Phi-4-mini': { inputPerMillionUsd: 0.075, outputPerMillionUsd: 0.3, aliases: ['Phi-4-mini-instruct'], source: 'Azure AI Foundry serverless list price, 2025-03' },
    // Azure AI Foundry serverless Phi-3.5-mini-instruct (2024-09).
    'Phi-3.5-mini': { inputPerMillionUsd: 0.13, outputPerMillionUsd: 0.52, aliases: ['Phi-3.5-mini-instruct'], source: 'Azure AI Foundry serverless list price, 2024-09' },
  },
  // Azure Functions Flex Consumption, on-demand meter (azure.microsoft.com/pricing/details/functions,
  // 2025-01): $0.000026 per GB-s and $0.40 per million executions; the monthly free grant
  // (100,000 GB-s, 250,000 executions) is deliberately not deducted — it is per subscription.
  functionsPlan: {
    name: 'flex-consumption',
    gbSecondUsd: 0.000026,
    perMillionExecutionsUsd: 0.4,
    instanceMemoryInMb: 2048,
    minimumBilledInMs: 0,
    source: 'Azure Functions Flex Consumption on-demand list price, 2025-01',
  },
});

/** Validates pricing JSON; a bad table is a typed 400, never a crash later. */
export function parsePricing(input: unknown): Pricing {
  const parsed = pricingSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidRequest(`Invalid pricing: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`, 'pricing', 'invalid_pricing');
  }
  return parsed.data;
}

/** The defaults with the caller's prices laid over them (per model and per plan field). */
export function createPricing(overrides: { models?: Record<string, z.input<typeof modelPriceSchema>>; functionsPlan?: Partial<FunctionsPlanPrice> } = {}): Pricing {
  return parsePricing({
    currency: 'USD',
    models: { ...DEFAULT_PRICING.models, ...(overrides.models ?? {}) },
    functionsPlan: { ...DEFAULT_PRICING.functionsPlan, ...(overrides.functionsPlan ?? {}) },
  });
}

/**
 * The price entry for a model id: exact id, then alias, then the longest id or alias that prefixes
 * it (so a dated deployment such as `gpt-4o-mini-2024-07-18` finds `gpt-4o-mini`, not `gpt-4o`).
 * Case-insensitive.
 */
export function findModelPrice(pricing: Pricing, modelId: string): (ModelPrice & { id: string }) | undefined {
  const wanted = modelId.toLowerCase();
  let best: { id: string; price: ModelPrice; length: number } | undefined;
  for (const [id, price] of Object.entries(pricing.models)) {
    for (const name of [id, ...price.aliases]) {
      const n = name.toLowerCase();
      if (n === wanted) return { id, ...price };
      if (wanted.startsWith(n) && (best === undefined || n.length > best.length)) best = { id, price, length: n.length };
    }
  }
  return best ? { id: best.id, ...best.price } : undefined;
}

export interface PriceCallInput {
  modelId: string;
  hosting: 'remote' | 'in-process';
  usage?: Usage;
  latencyInMs: number;
  /** Memory billed for an in-process call; defaults to the plan's instance memory. */
  memoryInMb?: number;
}

/** Token cost of a remote call. */
export function tokenCostUsd(price: Pick<ModelPrice, 'inputPerMillionUsd' | 'outputPerMillionUsd'>, usage: Usage): number {
  return (usage.promptTokens * price.inputPerMillionUsd + usage.completionTokens * price.outputPerMillionUsd) / 1_000_000;
}

/** Compute cost of one in-process execution on the Functions plan: GB-seconds plus one execution. */
export function computeCostUsd(plan: FunctionsPlanPrice, latencyInMs: number, memoryInMb?: number): number {
  const billedMs = Math.max(latencyInMs, plan.minimumBilledInMs);
  const gb = (memoryInMb ?? plan.instanceMemoryInMb) / 1024;
  return (billedMs / 1000) * gb * plan.gbSecondUsd + plan.perMillionExecutionsUsd / 1_000_000;
}

/**
 * Prices one arm's output — what the gateway calls after each model call. Remote models cost
 * tokens at their listed price; in-process students cost GB-seconds and an execution.
 * An unknown remote model or a missing usage is a typed error (the caller decides whether a
 * request may go unpriced).
 */
export function priceCall(pricing: Pricing, input: PriceCallInput): number {
  if (!Number.isFinite(input.latencyInMs) || input.latencyInMs < 0) {
    throw invalidRequest('latencyInMs must be a non-negative number.', 'latencyInMs', 'invalid_cost_input');
  }
  if (input.hosting === 'in-process') return computeCostUsd(pricing.functionsPlan, input.latencyInMs, input.memoryInMb);
  const price = findModelPrice(pricing, input.modelId);
  if (!price) throw invalidRequest(`No price for model '${input.modelId}'.`, 'modelId', 'unknown_model_price');
  if (!input.usage) throw invalidRequest(`No token usage to price model '${input.modelId}'.`, 'usage', 'missing_usage');
  const { promptTokens, completionTokens } = input.usage;
  if (![promptTokens, completionTokens].every((t) => Number.isFinite(t) && t >= 0)) {
    throw invalidRequest('Token counts must be non-negative numbers.', 'usage', 'invalid_cost_input');
  }
  return tokenCostUsd(price, input.usage);
}

export interface CostSummary {
  requests: number;
  totalUsd: number;
  perRequestUsd: number;
  per1000RequestsUsd: number;
}

export function summarizeCost(requests: number, totalUsd: number): CostSummary {
  const perRequestUsd = requests > 0 ? totalUsd / requests : 0;
  return { requests, totalUsd, perRequestUsd, per1000RequestsUsd: perRequestUsd * 1000 };
}

export interface SavingsLedgerInput {
  requests: number;
  /** What the same requests would have cost had the teacher served them all. */
  teacherOnlyCostUsd: number;
  /** What the arms that actually served the clients cost. */
  servedCostUsd: number;
  /** Background calls: shadow calls and cascade attempts that were escalated. */
  shadowCostUsd?: number;
  /** LLM-as-judge calls made to evaluate the student. */
  judgeCostUsd?: number;
  /** Distillation: teacher labelling of training data and training compute. */
  trainingCostUsd?: number;
}

export interface SavingsLedger extends Required<SavingsLedgerInput> {
  actualCostUsd: number;
  /** Teacher-only minus served cost: the saving before overheads. */
  grossSavingsUsd: number;
  /** Net of shadow, judge and training costs. */
  netSavingsUsd: number;
  /** netSavings / teacherOnly (0 when the counterfactual is free). */
  netSavingsRatio: number;
  /** Requests needed for the per-request saving to pay back judge and training costs. */
  breakEvenRequests: number | null;
}

export function savingsLedger(input: SavingsLedgerInput): SavingsLedger {
  const shadowCostUsd = input.shadowCostUsd ?? 0;
  const judgeCostUsd = input.judgeCostUsd ?? 0;
  const trainingCostUsd = input.trainingCostUsd ?? 0;
  for (const [k, v] of Object.entries({ ...input, shadowCostUsd, judgeCostUsd, trainingCostUsd })) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidRequest(`${k} must be a non-negative number.`, k, 'invalid_cost_input');
  }
  const actualCostUsd = input.servedCostUsd + shadowCostUsd + judgeCostUsd + trainingCostUsd;
  const grossSavingsUsd = input.teacherOnlyCostUsd - input.servedCostUsd;
  const netSavingsUsd = input.teacherOnlyCostUsd - actualCostUsd;
  const perRequestRunningSaving = input.requests > 0 ? (grossSavingsUsd - shadowCostUsd) / input.requests : 0;
  const fixed = judgeCostUsd + trainingCostUsd;
  return {
    requests: input.requests,
    teacherOnlyCostUsd: input.teacherOnlyCostUsd,
    servedCostUsd: input.servedCostUsd,
    shadowCostUsd,
    judgeCostUsd,
    trainingCostUsd,
    actualCostUsd,
    grossSavingsUsd,
    netSavingsUsd,
    netSavingsRatio: input.teacherOnlyCostUsd > 0 ? netSavingsUsd / input.teacherOnlyCostUsd : 0,
    breakEvenRequests: perRequestRunningSaving > 0 ? Math.ceil(fixed / perRequestRunningSaving) : null,
  };
}

/** Rough token count (≈ 4 characters per token for English) for outputs recorded without usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
