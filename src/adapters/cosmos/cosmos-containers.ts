import type { Container, ContainerDefinition, CosmosClient, Database, IndexingPolicy } from '@azure/cosmos';
import { meterContainer, type RequestChargeListener } from './request-charge.js';

// Containers, partition keys and indexing, chosen for the access paths:
//
// - pairs: partition key /pk = `${task}|${tenant}|${yyyymmdd}|${h}` (pair-partition-key.ts): one
//   busy task and tenant spreads over day × hash-bucket logical partitions, so neither the 20 GB
//   logical-partition cap nor one physical partition's 10,000 RU/s caps it (docs/capacity.md). A
//   list merges one single-partition query per bucket of the asked days (the days of a tenant are
//   recorded in pair-counters), so no query fans out blindly. Records written before the buckets
//   (pk = task|tenant) are still read. Hierarchical keys (/task, /tenant, /bucket) would serve
//   the same paths on Azure, but the local test server does not implement them.
//   Only the columns queries use are indexed; the record itself (/pair/*) is not.
// - pair-counters: partition key /task; sharded counter documents (sharded-pair-counter.ts), one
//   document per tenant seen and one per tenant and day with pairs. Never expires, whatever the
//   pairs' TTL.
// - jobs and models: partition key /task; a worker and the router always know the task.

export interface CosmosContainerNames {
  pairs: string;
  pairCounters: string;
  jobs: string;
  models: string;
}

export const defaultContainerNames: CosmosContainerNames = {
  pairs: 'pairs',
  pairCounters: 'pair-counters',
  jobs: 'jobs',
  models: 'models',
};

export interface EnsureCosmosContainersOptions {
  databaseId: string;
  names?: Partial<CosmosContainerNames>;
  /** Retention per container, in seconds (Cosmos `defaultTtl`); undefined keeps items forever. */
  timeToLiveInSeconds?: Partial<Record<keyof CosmosContainerNames, number>>;
  /** Reports the request charge of every operation on the returned containers (request-charge.ts). */
  requestCharges?: { listener: RequestChargeListener; trustReportedCharge: boolean };
}

const pairsIndexing: IndexingPolicy = {
  indexingMode: 'consistent',
  automatic: true,
  includedPaths: [
    { path: '/pk/?' },
    { path: '/task/?' },
    { path: '/tenant/?' },
    { path: '/ts/?' },
    { path: '/sourceKind/?' },
    { path: '/datasetId/?' },
  ],
  excludedPaths: [{ path: '/*' }],
  compositeIndexes: [
    [
      { path: '/ts', order: 'ascending' },
      { path: '/id', order: 'ascending' },
    ],
  ],
};

const jobsIndexing: IndexingPolicy = {
  indexingMode: 'consistent',
  automatic: true,
  includedPaths: [{ path: '/task/?' }, { path: '/tenant/?' }, { path: '/state/?' }, { path: '/ts/?' }],
  excludedPaths: [{ path: '/*' }],
  compositeIndexes: [
    [
      { path: '/ts', order: 'descending' },
      { path: '/id', order: 'descending' },
    ],
  ],
};

const modelsIndexing: IndexingPolicy = {
  indexingMode: 'consistent',
  automatic: true,
  includedPaths: [{ path: '/task/?' }, { path: '/version/?' }, { path: '/state/?' }, { path: '/type/?' }],
  excludedPaths: [{ path: '/*' }],
};

export function containerDefinitions(options: EnsureCosmosContainersOptions): Record<keyof CosmosContainerNames, ContainerDefinition> {
  const names = { ...defaultContainerNames, ...options.names };
  const ttl = (key: keyof CosmosContainerNames) =>
    options.timeToLiveInSeconds?.[key] === undefined ? {} : { defaultTtl: options.timeToLiveInSeconds[key] };
  return {
    pairs: { id: names.pairs, partitionKey: { paths: ['/pk'] }, indexingPolicy: pairsIndexing, ...ttl('pairs') },
    pairCounters: { id: names.pairCounters, partitionKey: { paths: ['/task'] }, ...ttl('pairCounters') },
    jobs: { id: names.jobs, partitionKey: { paths: ['/task'] }, indexingPolicy: jobsIndexing, ...ttl('jobs') },
    models: { id: names.models, partitionKey: { paths: ['/task'] }, indexingPolicy: modelsIndexing, ...ttl('models') },
  };
}

/** Creates the database and every container if missing (idempotent; safe at every start). */
export async function ensureCosmosContainers(
  client: CosmosClient,
  options: EnsureCosmosContainersOptions,
): Promise<{ database: Database } & Record<keyof CosmosContainerNames, Container>> {
  const { database } = await client.databases.createIfNotExists({ id: options.databaseId });
  const defs = containerDefinitions(options);
  const out = {} as Record<keyof CosmosContainerNames, Container>;
  for (const key of Object.keys(defs) as (keyof CosmosContainerNames)[]) {
    const container = (await database.containers.createIfNotExists(defs[key])).container;
    const charges = options.requestCharges;
    out[key] = charges ? meterContainer(container, defaultContainerNames[key], charges.listener, { trustReportedCharge: charges.trustReportedCharge }) : container;
  }
  return { database, ...out };
}
