import path from 'node:path';
import { FsArtifactStore } from '../adapters/local/fs-artifact-store.js';
import { SqliteApiKeyStore } from '../adapters/sqlite/sqlite-api-key-store.js';
import { SqliteJobQueue } from '../adapters/sqlite/sqlite-job-queue.js';
import { SqliteJobStore } from '../adapters/sqlite/sqlite-job-store.js';
import { SqliteModelRegistry } from '../adapters/sqlite/sqlite-model-registry.js';
import { ThreadedSqlitePairStore } from '../adapters/sqlite/threaded-sqlite-pair-store.js';
import type { Config } from '../config.js';
import type { ApiKeyStore } from '../core/keys/api-key-store.js';
import type { ArtifactStore, JobQueue, JobStore, ModelRegistry, PairStore } from '../core/ports.js';
import type { ComposeOptions } from './compose-options.js';
import { credentialFor, isLoopback } from './credentials.js';
import { lazyInstance } from './lazy-instance.js';
import { jobRedeliveryDelayInMs } from '../core/distill/job-redelivery.js';
import { recordCosmosRequestCharge } from '../telemetry.js';

// The stores behind the ports: embedded defaults (SQLite, a local folder) or Azure (Cosmos DB,
// Service Bus, Blob Storage). Azure SDKs load only when configured: a cold start on embedded
// defaults never pays for them.

export interface Stores {
  pairStore: PairStore;
  jobStore: JobStore;
  registry: ModelRegistry;
  jobQueue: JobQueue;
  artifacts: ArtifactStore;
  /** Keys created through POST /admin/keys (digests only). */
  apiKeys: ApiKeyStore;
  /** Closes what these stores opened (clients, databases), after the pair store is flushed. */
  closers: (() => Promise<void> | void)[];
}

export async function createStores(config: Config, dataDir: string, options: ComposeOptions): Promise<Stores> {
  const closers: Stores['closers'] = [];
  const records = config.settings.DISTILLERY_STORE === 'cosmos' ? await cosmosStores(config, options, closers) : sqliteStores(dataDir, options, closers);
  const jobQueue = options.jobQueue ?? (await createJobQueue(config, dataDir, options));
  closers.push(() => jobQueue.close());
  return { ...records, jobQueue, artifacts: await createArtifactStore(config, dataDir, options), closers };
}

type RecordStores = Pick<Stores, 'pairStore' | 'jobStore' | 'registry' | 'apiKeys'>;

function sqliteStores(dataDir: string, options: ComposeOptions, closers: Stores['closers']): RecordStores {
  const sqlitePath = path.join(dataDir, 'distillery.db');
  const jobStore = lazyInstance(() => new SqliteJobStore({ path: sqlitePath }), { close: async () => undefined });
  const registry = lazyInstance(() => new SqliteModelRegistry({ path: sqlitePath }), { close: async () => undefined });
  const apiKeys = new SqliteApiKeyStore({ path: sqlitePath });
  closers.push(() => jobStore.close(), () => registry.close(), () => apiKeys.close());
  // Pairs are written on a thread of their own: a locked or slow database never holds a response.
  return { pairStore: options.pairStore ?? new ThreadedSqlitePairStore({ path: sqlitePath }), jobStore: options.jobStore ?? jobStore, registry, apiKeys };
}

async function cosmosStores(config: Config, options: ComposeOptions, closers: Stores['closers']): Promise<RecordStores> {
  const { settings } = config;
  const [{ ensureCosmosContainers }, { CosmosJobStore }, { CosmosModelRegistry }, { CosmosPairStore }, { createCosmosClient }, { CosmosApiKeyStore, apiKeysContainerDefinition }] = await Promise.all([
    import('../adapters/cosmos/cosmos-containers.js'),
    import('../adapters/cosmos/cosmos-job-store.js'),
    import('../adapters/cosmos/cosmos-model-registry.js'),
    import('../adapters/cosmos/cosmos-pair-store.js'),
    import('../adapters/cosmos/create-cosmos-client.js'),
    import('../adapters/cosmos/cosmos-api-key-store.js'),
  ]);
  const endpoint = settings.CosmosDb__accountEndpoint;
  const client = settings.CosmosDb
    ? createCosmosClient({ connectionString: settings.CosmosDb }, { enableEndpointDiscovery: !/127\.0\.0\.1|localhost/.test(settings.CosmosDb) })
    : createCosmosClient(
        { endpoint: endpoint!, credential: credentialFor(settings.CosmosDb__clientId, settings.CosmosDb__credential === 'managedidentity', options.credential) },
        { enableEndpointDiscovery: !isLoopback(endpoint!) },
      );
  const ttl = settings.DISTILLERY_PAIR_TTL_SECONDS;
  const local = settings.CosmosDb ? /127\.0\.0\.1|localhost/.test(settings.CosmosDb) : isLoopback(endpoint!);
  const containers = await ensureCosmosContainers(client, {
    databaseId: settings.DISTILLERY_COSMOS_DATABASE,
    // Every operation's RU into telemetry; the local test server's charge is a placeholder: estimate.
    requestCharges: { listener: recordCosmosRequestCharge, trustReportedCharge: !local },
    ...(ttl > 0 ? { timeToLiveInSeconds: { pairs: ttl } } : {}),
  });
  const { container: apiKeys } = await containers.database.containers.createIfNotExists(apiKeysContainerDefinition());
  closers.push(() => client.dispose());
  return {
    apiKeys: new CosmosApiKeyStore(apiKeys),
    pairStore: options.pairStore ?? new CosmosPairStore({ pairs: containers.pairs, counters: containers.pairCounters }),
    jobStore: options.jobStore ?? new CosmosJobStore({ jobs: containers.jobs }),
    registry: new CosmosModelRegistry({ models: containers.models }),
  };
}

async function createJobQueue(config: Config, dataDir: string, options: ComposeOptions): Promise<JobQueue> {
  const { settings } = config;
  if (settings.DISTILLERY_QUEUE === 'servicebus') {
    const { ServiceBusJobQueue } = await import('../adapters/service-bus/service-bus-job-queue.js');
    return new ServiceBusJobQueue({
      ...(settings.ServiceBusConnection
        ? { connectionString: settings.ServiceBusConnection }
        : {
            fullyQualifiedNamespace: settings.ServiceBusConnection__fullyQualifiedNamespace!,
            credential: credentialFor(settings.ServiceBusConnection__clientId, settings.ServiceBusConnection__credential === 'managedidentity', options.credential),
          }),
      queueName: settings.DISTILLERY_JOBS_QUEUE,
      maxDeliveryCount: settings.DISTILLERY_JOB_MAX_DELIVERIES,
      // A failed job comes back after a back-off (a scheduled copy), so an outage does not burn its deliveries.
      retryDelayInMs: redeliveryDelay(options),
    });
  }
  const queue = () => new SqliteJobQueue({
    path: path.join(dataDir, 'queue.db'),
    queueName: settings.DISTILLERY_JOBS_QUEUE,
    maxDeliveryCount: settings.DISTILLERY_JOB_MAX_DELIVERIES,
    // A training step holds the lock for seconds; the queue renews it while the handler runs.
    lockDurationInMs: 30_000,
    retryDelayInMs: redeliveryDelay(options),
  });
  return lazyInstance(queue, { close: async () => undefined });
}

/** The job redelivery back-off (core/distill/job-redelivery.ts) unless a test shortens it. */
const redeliveryDelay = (options: ComposeOptions) => options.jobRedeliveryDelayInMs ?? ((n: number) => jobRedeliveryDelayInMs(n));

async function createArtifactStore(config: Config, dataDir: string, options: ComposeOptions): Promise<ArtifactStore> {
  const { settings } = config;
  if (settings.DISTILLERY_ARTIFACTS !== 'blob') return new FsArtifactStore({ root: path.join(dataDir, 'artifacts') });
  const { BlobArtifactStore } = await import('../adapters/blob/blob-artifact-store.js');
  return new BlobArtifactStore({
    containerName: settings.DISTILLERY_ARTIFACT_CONTAINER,
    ...(settings.ArtifactStorage
      ? { connectionString: settings.ArtifactStorage }
      : {
          blobServiceUri: settings.ArtifactStorage__blobServiceUri!,
          credential: credentialFor(settings.ArtifactStorage__clientId, settings.ArtifactStorage__credential === 'managedidentity', options.credential),
        }),
  });
}
