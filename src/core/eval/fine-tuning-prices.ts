// What stage 2 costs on Azure ML serverless fine-tuning, per catalog student: training per 1,000
// trained tokens (examples × epochs) and hosting of the fine-tuned serverless deployment per hour.
// Tokens sent to the deployment are priced like the base model (price-table.ts). All figures are
// UNCONFIRMED list prices as last read on the page named in `source` (pay-as-you-go, USD); they
// change and vary by region: verify them before quoting, override them in your own reports.

export interface FineTuningPrice {
  trainingPer1kTokensUsd: number;
  hostingPerHourUsd: number;
  source: string;
  note: string;
}

const FOUNDRY_PHI = 'https://azure.microsoft.com/en-us/pricing/details/phi-3/';
const FOUNDRY_MODELS = 'https://azure.microsoft.com/en-us/pricing/details/ai-foundry-models/';

export const FINE_TUNING_PRICES: Record<string, FineTuningPrice> = {
  'Phi-4-mini-instruct': { trainingPer1kTokensUsd: 0.003, hostingPerHourUsd: 0.8, source: FOUNDRY_PHI, note: 'Unconfirmed: Phi serverless fine-tuning list price as last read; not cross-checked.' },
  'Phi-3.5-mini-instruct': { trainingPer1kTokensUsd: 0.003, hostingPerHourUsd: 0.8, source: FOUNDRY_PHI, note: 'Unconfirmed: Phi serverless fine-tuning list price as last read; not cross-checked.' },
  'Meta-Llama-3.1-8B-Instruct': { trainingPer1kTokensUsd: 0.003, hostingPerHourUsd: 0.74, source: FOUNDRY_MODELS, note: 'Unconfirmed: Meta models-as-a-service fine-tuning list price as last read; not cross-checked.' },
};

/** Training cost of `trainedTokens` (already multiplied by epochs) and the hosting rate; undefined for an unpriced student. */
export function priceFineTuning(student: string, trainedTokens: number): { trainingCostUsd: number; hostingUsdPerHour: number } | undefined {
  const p = FINE_TUNING_PRICES[student];
  if (!p) return undefined;
  return { trainingCostUsd: (trainedTokens / 1000) * p.trainingPer1kTokensUsd, hostingUsdPerHour: p.hostingPerHourUsd };
}
