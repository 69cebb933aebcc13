import type { Container, ContainerDefinition, CosmosClient, Database, IndexingPolicy } from '@azure/cosmos';

// Containers, partition keys and indexing, chosen for the access paths:
//
// - pairs: partition key /pk = `${task}|${tenant}`. Writes spread over every tenant of a task, a
//   tenant's pairs stay in one logical partition (point reads and per-tenant lists are
//   single-partition), and no single task is capped at one logical partition's 20 GB. A list over
//   every tenant of a task merges one single-partition query per tenant (the tenants of a task are
//   recorded in pair-counters), so no query fans out blindly. Hierarchical keys (/task, /tenant)
//   would serve the same paths, but the local test server does not implement them.
//   Only the columns queries use are indexed; the record itself (/pair/*) is not.
// - pair-counters: partition key /task; one counter document per task (patch increment) and one
//   document per tenant seen. Never expires, whatever the pairs' TTL.
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
    out[key] = (await database.containers.createIfNotExists(defs[key])).container;
  }
  return { database, ...out };
}
