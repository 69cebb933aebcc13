import { z } from 'zod';
import { invalidRequest } from '../errors.js';
import type { Usage } from '../chat/chat-model-types.js';
import { BUILT_IN_PRICE_TABLE } from './price-table.js';

// Prices are data: a zod-validated table of per-model token prices and the Functions plan's
// compute prices. The built-in table (price-table.ts) holds dated public list prices, each with
// its source URL and deployment type; a deployment overrides them with its contract prices in the
// configuration's `pricing` section. A model is priced only under its exact name or an explicit
// alias (case-insensitive): an unlisted model has unknown cost, never a guess from a similar name
// (`gpt-4.1` is not `gpt-4`, and `gpt-4o-2024-05-13` does not cost what `gpt-4o` costs).

/** Where a price applies: Azure OpenAI deployment types, Foundry serverless (MaaS), a provider's own API, or a contract. */
export const DEPLOYMENT_TYPES = ['global', 'data-zone', 'regional', 'serverless', 'provider-api', 'contract'] as const;

export const modelPriceSchema = z.object({
  /** USD per 1,000,000 input (prompt) tokens. */
  inputPerMillionUsd: z.number().nonnegative(),
  /** USD per 1,000,000 output (completion) tokens. */
  outputPerMillionUsd: z.number().nonnegative(),
  /** Other exact names the same price applies to (dated snapshots, deployment names). */
  aliases: z.array(z.string().min(1)).default([]),
  /** Who bills it, e.g. `azure-openai`, `azure-ai-foundry`, `openai`. */
  provider: z.string().min(1).optional(),
  deploymentType: z.enum(DEPLOYMENT_TYPES).optional(),
  /** Azure region or data zone, when the price is regional. */
  region: z.string().min(1).optional(),
  /** Date (YYYY-MM-DD) from which the price applies, or when it was read. */
  effectiveDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'effectiveDate must be YYYY-MM-DD').optional(),
  /** Where the price is published (a URL) or what it is (a contract reference). */
  source: z.string().optional(),
  /** How sure the figure is, and anything that qualifies it. */
  note: z.string().optional(),
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

/**
 * The configuration's `pricing` section: entries laid over the built-in table (an entry of the
 * same name, or one claiming a built-in alias, wins), plan fields laid over the built-in plan.
 * `builtIn: false` drops the built-in models: only the listed ones are priced.
 */
export const pricingOverrideSchema = z
  .object({
    currency: z.literal('USD').default('USD'),
    builtIn: z.boolean().default(true),
    models: z.record(z.string().min(1), modelPriceSchema).default({}),
    functionsPlan: functionsPlanSchema.partial().default({}),
  })
  .strict();

export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type FunctionsPlanPrice = z.infer<typeof functionsPlanSchema>;
export type Pricing = z.infer<typeof pricingSchema>;
export type PricingInput = z.input<typeof pricingSchema>;
export type PricingOverride = z.input<typeof pricingOverrideSchema>;

function invalidPricing(error: z.ZodError): never {
  const issue = error.issues[0];
  throw invalidRequest(`Invalid pricing: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`, 'pricing', 'invalid_pricing');
}

/** A complete table; two entries claiming one name (case-insensitive) is an error, never a silent pick. */
function validateTable(input: unknown): Pricing {
  const parsed = pricingSchema.safeParse(input);
  if (!parsed.success) invalidPricing(parsed.error);
  const owner = new Map<string, string>();
  for (const [id, price] of Object.entries(parsed.data.models)) {
    for (const name of new Set([id, ...price.aliases].map((n) => n.toLowerCase()))) {
      const other = owner.get(name);
      if (other !== undefined) {
        throw invalidRequest(`Invalid pricing: models.${id}: the name '${name}' is already priced by '${other}'.`, 'pricing', 'invalid_pricing');
      }
      owner.set(name, id);
    }
  }
  return parsed.data;
}

/**
 * Lays an override over a base table. An overridden entry keeps the base's aliases (a dated
 * snapshot name still means that model); any name an override claims leaves the base entry that
 * had it.
 */
function layer(base: Pricing, override: z.infer<typeof pricingOverrideSchema>): PricingInput {
  const claimed = new Set(Object.entries(override.models).flatMap(([id, p]) => [id, ...p.aliases].map((n) => n.toLowerCase())));
  const unclaimed = (names: readonly string[]) => names.filter((a) => !claimed.has(a.toLowerCase()));
  const models: Record<string, z.input<typeof modelPriceSchema>> = {};
  if (override.builtIn) {
    for (const [id, price] of Object.entries(base.models)) {
      if (!claimed.has(id.toLowerCase())) models[id] = { ...price, aliases: unclaimed(price.aliases) };
    }
  }
  for (const [id, price] of Object.entries(override.models)) {
    const inherited = override.builtIn ? unclaimed(base.models[id]?.aliases ?? []) : [];
    models[id] = { ...price, aliases: [...price.aliases, ...inherited] };
  }
  return { currency: 'USD', models, functionsPlan: { ...base.functionsPlan, ...override.functionsPlan } };
}

export const DEFAULT_PRICING: Pricing = validateTable(BUILT_IN_PRICE_TABLE);

/**
 * Validates the configuration's `pricing` section and lays it over the built-in table; a bad
 * section is a typed 400, never a crash later. A complete table (models and a full plan) is a
 * valid override too.
 */
export function parsePricing(input: unknown): Pricing {
  const parsed = pricingOverrideSchema.safeParse(input ?? {});
  if (!parsed.success) invalidPricing(parsed.error);
  return validateTable(layer(DEFAULT_PRICING, parsed.data));
}

/** The built-in table with the caller's prices laid over it (per model and per plan field). */
export function createPricing(overrides: PricingOverride = {}): Pricing {
  return parsePricing(overrides);
}

/** The price entry for a model id: its exact name, else an explicit alias (case-insensitive); never a prefix or a guess. */
export function findModelPrice(pricing: Pricing, modelId: string): (ModelPrice & { id: string }) | undefined {
  const wanted = modelId.toLowerCase();
  for (const [id, price] of Object.entries(pricing.models)) if (id.toLowerCase() === wanted) return { id, ...price };
  for (const [id, price] of Object.entries(pricing.models)) {
    if (price.aliases.some((a) => a.toLowerCase() === wanted)) return { id, ...price };
  }
  return undefined;
}

/**
 * The name a configured model is priced under: its `priceAs`, else the model or deployment it
 * calls upstream, else its id (the gateway, stage 1 and `distillery pricing` all look it up so).
 */
export function priceNameOf(models: Readonly<Record<string, { priceAs?: string; model?: string; deployment?: string } | undefined>>, id: string): string {
  const m = models[id];
  return m?.priceAs ?? m?.model ?? m?.deployment ?? id;
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
  if (!price) throw invalidRequest(`Unknown cost: no price for model '${input.modelId}' (price it in the configuration's pricing section, or set the model's priceAs).`, 'modelId', 'unknown_model_price');
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
