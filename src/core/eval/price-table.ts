// The built-in price table: public pay-as-you-go list prices in USD per 1,000,000 tokens, each
// with where it was published, the deployment type it applies to and the date it was read. Only
// exact model names and the aliases listed here are priced: an unlisted name (a new snapshot, a
// fine-tuned model, a regional deployment) has *unknown* cost until the configuration's `pricing`
// section names it. Prices change often and contracts differ: override them with your own.
//
// `note` says how sure we are. "Confirmed" means the figure was cross-checked against a second
// public page (named in the note); "unconfirmed" means it is the figure of the official page as we
// last read it, not re-checked for this release: verify it before you quote it.

const AZURE_OPENAI = 'https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/';
const FOUNDRY = 'https://azure.microsoft.com/en-us/pricing/details/ai-foundry-models/';
const FOUNDRY_PHI = 'https://azure.microsoft.com/en-us/pricing/details/phi-3/';
const DATA_ZONE_NOTE = 'Unconfirmed: Data Zone Standard is published at 1.1× the Global Standard price.';

// Plain data (pricing.ts validates it with its zod schema at load; importing the type here would be a cycle).
export const BUILT_IN_PRICE_TABLE = {
  currency: 'USD',
  models: {
    // --- Azure OpenAI, Global Standard (pay-as-you-go) -------------------------------------------
    'gpt-4.1': {
      inputPerMillionUsd: 2, outputPerMillionUsd: 8, aliases: ['gpt-4.1-2025-04-14'],
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2025-04-14', source: AZURE_OPENAI,
      note: 'Confirmed: $2.00 / $8.00 also quoted by explore.oreate.ai/posts/breaking-down-gpt41-pricing-on-azure-openai-service.',
    },
    'gpt-4.1-mini': {
      inputPerMillionUsd: 0.4, outputPerMillionUsd: 1.6, aliases: ['gpt-4.1-mini-2025-04-14'],
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2025-04-14', source: AZURE_OPENAI,
      note: 'Confirmed: $0.40 / $1.60 also quoted by explore.oreate.ai (GPT-4.1 pricing on Azure) and deploybase.ai/articles/azure-openai-pricing.',
    },
    'gpt-4.1-nano': {
      inputPerMillionUsd: 0.1, outputPerMillionUsd: 0.4, aliases: ['gpt-4.1-nano-2025-04-14'],
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2025-04-14', source: AZURE_OPENAI,
      note: 'Confirmed: $0.10 / $0.40 also quoted by explore.oreate.ai (GPT-4.1 pricing on Azure).',
    },
    // A deployment named plain `gpt-4o` runs the current default version (2024-11-20); 2024-08-06
    // costs the same. A deployment pinned to 2024-05-13 must be named so, or use `priceAs`.
    'gpt-4o-2024-11-20': {
      inputPerMillionUsd: 2.5, outputPerMillionUsd: 10, aliases: ['gpt-4o'],
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2024-11-20', source: AZURE_OPENAI,
      note: 'Confirmed: $2.50 / $10 also quoted by redresscompliance.com/azure-openai-enterprise-pricing-guide.',
    },
    'gpt-4o-2024-08-06': {
      inputPerMillionUsd: 2.5, outputPerMillionUsd: 10,
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2024-08-06', source: AZURE_OPENAI,
      note: 'Confirmed: same price as gpt-4o-2024-11-20 (redresscompliance.com, Azure OpenAI pricing guide).',
    },
    'gpt-4o-2024-05-13': {
      inputPerMillionUsd: 5, outputPerMillionUsd: 15,
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2024-05-13', source: AZURE_OPENAI,
      note: 'Unconfirmed by a second page: the first gpt-4o snapshot kept its launch price ($5 / $15).',
    },
    'gpt-4o-mini': {
      inputPerMillionUsd: 0.15, outputPerMillionUsd: 0.6, aliases: ['gpt-4o-mini-2024-07-18'],
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2024-07-18', source: AZURE_OPENAI,
      note: 'Confirmed: $0.15 / $0.60 also quoted by redresscompliance.com and deploybase.ai.',
    },
    o1: {
      inputPerMillionUsd: 15, outputPerMillionUsd: 60, aliases: ['o1-2024-12-17'],
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2024-12-17', source: AZURE_OPENAI,
      note: 'Unconfirmed by a second page. Reasoning tokens are billed as output tokens.',
    },
    'o3-mini': {
      inputPerMillionUsd: 1.1, outputPerMillionUsd: 4.4, aliases: ['o3-mini-2025-01-31'],
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2025-01-31', source: AZURE_OPENAI,
      note: 'Unconfirmed by a second page. Reasoning tokens are billed as output tokens.',
    },
    'o4-mini': {
      inputPerMillionUsd: 1.1, outputPerMillionUsd: 4.4, aliases: ['o4-mini-2025-04-16'],
      provider: 'azure-openai', deploymentType: 'global', effectiveDate: '2025-04-16', source: AZURE_OPENAI,
      note: 'Unconfirmed by a second page. Reasoning tokens are billed as output tokens.',
    },

    // --- Azure OpenAI, Data Zone Standard: name these with `priceAs` -------------------------------
    'gpt-4.1@data-zone': {
      inputPerMillionUsd: 2.2, outputPerMillionUsd: 8.8,
      provider: 'azure-openai', deploymentType: 'data-zone', effectiveDate: '2025-04-14', source: AZURE_OPENAI, note: DATA_ZONE_NOTE,
    },
    'gpt-4.1-mini@data-zone': {
      inputPerMillionUsd: 0.44, outputPerMillionUsd: 1.76,
      provider: 'azure-openai', deploymentType: 'data-zone', effectiveDate: '2025-04-14', source: AZURE_OPENAI, note: DATA_ZONE_NOTE,
    },
    'gpt-4o-2024-11-20@data-zone': {
      inputPerMillionUsd: 2.75, outputPerMillionUsd: 11, aliases: ['gpt-4o@data-zone'],
      provider: 'azure-openai', deploymentType: 'data-zone', effectiveDate: '2024-11-20', source: AZURE_OPENAI, note: DATA_ZONE_NOTE,
    },
    'gpt-4o-mini@data-zone': {
      inputPerMillionUsd: 0.165, outputPerMillionUsd: 0.66,
      provider: 'azure-openai', deploymentType: 'data-zone', effectiveDate: '2024-07-18', source: AZURE_OPENAI, note: DATA_ZONE_NOTE,
    },

    // --- Azure AI Foundry Models, serverless (MaaS, pay-as-you-go, global) -------------------------
    'DeepSeek-V3': {
      inputPerMillionUsd: 1.14, outputPerMillionUsd: 4.56, aliases: ['deepseek-v3'],
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2025-03-01', source: FOUNDRY,
      note: 'Unconfirmed: the Foundry page as last read; no second page found. DeepSeek\'s own API (deepseek-chat) is cheaper and is not this price.',
    },
    'DeepSeek-V3-0324': {
      inputPerMillionUsd: 1.14, outputPerMillionUsd: 4.56, aliases: ['deepseek-v3-0324'],
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2025-04-01', source: FOUNDRY,
      note: 'Unconfirmed: the Foundry page as last read; no second page found.',
    },
    'DeepSeek-R1': {
      inputPerMillionUsd: 1.35, outputPerMillionUsd: 5.4, aliases: ['deepseek-r1'],
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2025-03-01', source: FOUNDRY,
      note: 'Unconfirmed: the Foundry page as last read (R1 was free in its January 2025 preview); no second page found. Reasoning tokens are billed as output.',
    },
    'Meta-Llama-3.1-405B-Instruct': {
      inputPerMillionUsd: 5.33, outputPerMillionUsd: 16, aliases: ['Llama-3.1-405B', 'Llama-3.1-405B-Instruct'],
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2024-07-23', source: FOUNDRY,
      note: 'Confirmed: artificialanalysis.ai/models/llama-3-1-instruct-405b/providers gives Azure a blended $8.00 (3:1), i.e. (3 × 5.33 + 16) / 4.',
    },
    'Meta-Llama-3.1-70B-Instruct': {
      inputPerMillionUsd: 2.68, outputPerMillionUsd: 3.54, aliases: ['Llama-3.1-70B', 'Llama-3.1-70B-Instruct'],
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2024-07-23', source: FOUNDRY,
      note: 'Unconfirmed: the Foundry page as last read; no second page found.',
    },
    'Meta-Llama-3.1-8B-Instruct': {
      inputPerMillionUsd: 0.3, outputPerMillionUsd: 0.61, aliases: ['Llama-3.1-8B', 'Llama-3.1-8B-Instruct'],
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2024-07-23', source: FOUNDRY,
      note: 'Confirmed: cloudprice.net/models/friendliai/meta-llama-3.1-8b-instruct lists Azure AI Foundry at $0.30 / $0.61.',
    },
    'Phi-4': {
      inputPerMillionUsd: 0.125, outputPerMillionUsd: 0.5,
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2025-01-08', source: FOUNDRY_PHI,
      note: 'Confirmed to the cent: shadabchow.com/blogs/ai-models/129_phi-4 quotes Azure at $0.13 / $0.50 (rounded).',
    },
    'Phi-4-mini-instruct': {
      inputPerMillionUsd: 0.075, outputPerMillionUsd: 0.3, aliases: ['Phi-4-mini'],
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2025-02-26', source: FOUNDRY_PHI,
      note: 'Unconfirmed: the Phi pricing page as last read; no second page found.',
    },
    'Phi-3.5-mini-instruct': {
      inputPerMillionUsd: 0.13, outputPerMillionUsd: 0.52, aliases: ['Phi-3.5-mini'],
      provider: 'azure-ai-foundry', deploymentType: 'serverless', effectiveDate: '2024-08-20', source: FOUNDRY_PHI,
      note: 'Unconfirmed: the Phi pricing page as last read; no second page found.',
    },

    // --- Other providers ---------------------------------------------------------------------------
    // Legacy GPT-4 (8k); kept because the MT-Bench example's teacher answers come from it.
    'gpt-4': {
      inputPerMillionUsd: 30, outputPerMillionUsd: 60, aliases: ['gpt-4-0613'],
      provider: 'openai', deploymentType: 'provider-api', effectiveDate: '2023-06-13', source: 'https://openai.com/api/pricing/',
      note: 'Legacy model, list price unchanged since launch.',
    },
  },
  // Azure Functions Flex Consumption, on-demand meter: $0.000026 per GB-s and $0.40 per million
  // executions; the monthly free grant (100,000 GB-s, 250,000 executions) is deliberately not
  // deducted — it is per subscription.
  functionsPlan: {
    name: 'flex-consumption',
    gbSecondUsd: 0.000026,
    perMillionExecutionsUsd: 0.4,
    instanceMemoryInMb: 2048,
    minimumBilledInMs: 0,
    source: 'https://azure.microsoft.com/en-us/pricing/details/functions/ (Flex Consumption on-demand, read 2025-01)',
  },
};
