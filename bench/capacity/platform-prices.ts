// Azure platform list prices (USD, pay-as-you-go, single region) used by bench/capacity-model.ts,
// as dated data with their sources. Model (teacher) prices come from src/core/eval/price-table.ts.
//
// `confirmed: false` marks a figure whose USD amount could not be re-read from the source while
// writing this file (the pricing pages render their amounts with a region script; the text read
// showed "$-"): it is the list price as last known to the author, to be checked against the
// source or the Azure pricing calculator before quoting it. The structure of each meter (what is
// billed, tiers, included quantities) was confirmed where `structureSource` is given.

export interface PlatformPrice {
  usd: number;
  unit: string;
  source: string;
  /** When the figure was read. */
  asOf: string;
  confirmed: boolean;
  structureSource?: string;
  note?: string;
}

const COSMOS = 'https://azure.microsoft.com/pricing/details/cosmos-db/autoscale-provisioned/';
const COSMOS_SERVERLESS = 'https://azure.microsoft.com/pricing/details/cosmos-db/serverless/';
const SERVICE_BUS = 'https://azure.microsoft.com/pricing/details/service-bus/';
const BLOB = 'https://azure.microsoft.com/pricing/details/storage/blobs/';

export const PLATFORM_PRICES = {
  cosmosManualPer100RuPerHour: {
    usd: 0.008, unit: 'per 100 RU/s per hour (standard provisioned, single-region write)', source: COSMOS, asOf: '2026-12-02', confirmed: false,
  },
  cosmosAutoscalePer100RuPerHour: {
    usd: 0.012, unit: 'per 100 RU/s per hour (autoscale: billed at the highest RU/s reached in the hour)', source: COSMOS, asOf: '2026-12-02', confirmed: false,
    structureSource: 'https://learn.microsoft.com/azure/cosmos-db/how-to-choose-offer (autoscale scales 10%–100% of max; billed 1.5× standard rate)',
  },
  cosmosServerlessPerMillionRu: {
    usd: 0.25, unit: 'per 1,000,000 RU consumed (serverless)', source: COSMOS_SERVERLESS, asOf: '2026-12-02', confirmed: false,
    structureSource: 'https://learn.microsoft.com/azure/cosmos-db/serverless (billed per RU consumed and storage)',
  },
  cosmosStoragePerGbMonth: {
    usd: 0.25, unit: 'per GB-month of transactional storage (data + index)', source: COSMOS, asOf: '2026-12-02', confirmed: false,
  },
  serviceBusStandardBasePerHour: {
    usd: 0.0135, unit: 'per hour, Standard namespace base charge (first 13M operations/month included)', source: SERVICE_BUS, asOf: '2026-12-02', confirmed: false,
    structureSource: 'https://azure.microsoft.com/en-in/pricing/details/service-bus/ (base charge, first 13M ops included, tiers 13M–100M, 100M–2,500M, over 2,500M)',
  },
  serviceBusStandardPerMillionOps13to100M: { usd: 0.8, unit: 'per 1M operations, 13M–100M/month', source: SERVICE_BUS, asOf: '2026-12-02', confirmed: false },
  serviceBusStandardPerMillionOps100to2500M: { usd: 0.5, unit: 'per 1M operations, 100M–2,500M/month', source: SERVICE_BUS, asOf: '2026-12-02', confirmed: false },
  serviceBusStandardPerMillionOpsOver2500M: { usd: 0.2, unit: 'per 1M operations, over 2,500M/month', source: SERVICE_BUS, asOf: '2026-12-02', confirmed: false },
  blobHotWritePer10k: { usd: 0.065, unit: 'per 10,000 write operations (hot, LRS)', source: BLOB, asOf: '2026-12-02', confirmed: false },
  blobHotReadPer10k: { usd: 0.005, unit: 'per 10,000 read operations (hot, LRS)', source: BLOB, asOf: '2026-12-02', confirmed: false },
  blobHotStoragePerGbMonth: { usd: 0.0208, unit: 'per GB-month (hot, LRS, first 50 TB)', source: BLOB, asOf: '2026-12-02', confirmed: false },
} satisfies Record<string, PlatformPrice>;

/** Hours per month the Azure calculator uses. */
export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;

/**
 * Published limits the model relies on (docs/capacity.md cites them). `confirmed: false` as above:
 * the figure as last known, not re-read from the page while writing.
 */
export const PLATFORM_LIMITS = {
  cosmosLogicalPartitionGb: { value: 20, source: 'https://learn.microsoft.com/azure/cosmos-db/concepts-limits', confirmed: true },
  cosmosPhysicalPartitionRuPerSecond: { value: 10_000, source: 'https://learn.microsoft.com/azure/cosmos-db/concepts-limits', confirmed: true },
  cosmosPhysicalPartitionGb: { value: 50, source: 'https://learn.microsoft.com/azure/cosmos-db/partitioning-overview', confirmed: false },
  cosmosServerlessRuPerSecond: {
    value: 5_000, source: 'https://learn.microsoft.com/azure/cosmos-db/serverless-performance', confirmed: false,
    note: 'burst per container as long documented; newer serverless containers may scale further with partitions',
  },
  cosmosMaxItemKb: { value: 2_048, source: 'https://learn.microsoft.com/azure/cosmos-db/concepts-limits', confirmed: true },
  functionsFlexMaxInstances: { value: 1_000, source: 'https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan', confirmed: false },
  functionsFlexMinMaxInstances: { value: 40, source: 'https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan (infra/main.bicep @minValue)', confirmed: false },
  functionsFlexHttpConcurrencyMax: { value: 1_000, source: 'https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan', confirmed: false },
  functionsFlexVcpuPer2048Mb: { value: 1, source: 'https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan (CPU proportional to memory)', confirmed: false },
  serviceBusStandardMaxMessageKb: { value: 256, source: 'https://azure.microsoft.com/en-in/pricing/details/service-bus/', confirmed: true },
  serviceBusStandardConnections: { value: 1_000, source: 'https://azure.microsoft.com/en-in/pricing/details/service-bus/ (brokered connections included)', confirmed: true },
} as const;
