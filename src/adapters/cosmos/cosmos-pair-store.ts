import type { Container, SqlParameter } from '@azure/cosmos';
import { DistilleryError, invalidRequest } from '../../core/errors.js';
import type { PairQuery, PairRecord } from '../../core/pairs/pair-record.js';
import type { OperationOptions, PairStore } from '../../core/ports.js';
import { canonicalTime, checkKey, checkPairQuery, checkPairRecord } from '../shared/check-pair-record.js';
import { storeClosedError } from '../shared/store-closed-error.js';
import { cosmosFailure, isRetryable, statusOf, withCosmosRetry } from './cosmos-retry.js';
import { bucketStreamPlan, PairDayIndex, pointReadKeys } from './pair-day-index.js';
import { checkBucketsPerDay, legacyPartitionKey, pairPartitionKey } from './pair-partition-key.js';
import { ShardedPairCounter } from './sharded-pair-counter.js';

// PairStore on Cosmos DB (containers and keys: see cosmos-containers.ts). An upsert queues its
// records in a bounded in-memory buffer, where concurrent callers' records share batches; a
// background writer drains the buffer in batches of parallel item upserts (faster than
// executeBulkOperations against the test server, and per-item 201/200 tells a new pair from a
// replaced one for the counter), retrying 429s after the service's retryAfterInMs. An upsert
// resolves only once its records are written to Cosmos DB, like every PairStore: the PairWriter
// deletes its outbox copy on that promise. A full buffer makes upsert wait (back-pressure).

export interface CosmosPairStoreOptions {
  /** The `pairs` container (partition key /pk). */
  pairs: Container;
  /** The `pair-counters` container (partition key /task). */
  counters: Container;
  /** Records written per batch. */
  maxBatchSize?: number;
  /** Parallel item writes within a batch. */
  writeConcurrency?: number;
  /** Records held in memory before upsert waits for the writer. */
  maxBufferedPairs?: number;
  /** Attempts per write, on top of the SDK's own retries. */
  maxAttempts?: number;
  /** Items per query page (continuation-token paging). */
  pageSize?: number;
  /** Per-item TTL in seconds, overriding the container's default retention. */
  timeToLiveInSeconds?: number;
  // --- partitioning (pair-partition-key.ts, docs/capacity.md) ---
  /** Hash buckets per task, tenant and day (default 32): the logical partitions one day's writes spread over. */
  bucketsPerDay?: number;
  /** Counter shards (default 16); each instance increments one. */
  counterShards?: number;
  /** Also read records written before day buckets (pk = task|tenant); false once migrated. Default true. */
  readLegacyPartition?: boolean;
}

interface PairDocument {
  id: string;
  pk: string;
  task: string;
  tenant: string;
  /** createdAt in canonical ISO form: orders and filters by instant. */
  ts: string;
  sourceKind: string;
  datasetId?: string;
  pair: PairRecord;
  ttl?: number;
}

const tenantDocId = (tenant: string) => `tenant:${tenant}`;

export class CosmosPairStore implements PairStore {
  readonly #pairs: Container;
  readonly #counters: Container;
  readonly #maxBatchSize: number;
  readonly #concurrency: number;
  readonly #maxBuffered: number;
  readonly #maxAttempts: number;
  readonly #pageSize: number;
  readonly #ttl?: number;
  /** Pending writes by partition key + id: a newer version of a queued record replaces it in place. */
  readonly #buffer = new Map<string, PairDocument>();
  readonly #knownTenants = new Set<string>();
  /** Documents Cosmos refused for good (e.g. 413), until the upsertMany that queued them reports it. */
  readonly #refused = new Map<PairDocument, unknown>();
  #drain: Promise<void> | undefined;
  #failure: unknown;
  #spaceWaiters: (() => void)[] = [];
  #closed = false;
  // --- partitioning ---
  readonly #bucketsPerDay: number;
  readonly #days: PairDayIndex;
  readonly #counter: ShardedPairCounter;
  readonly #readLegacy: boolean;

  constructor(options: CosmosPairStoreOptions) {
    this.#pairs = options.pairs;
    this.#counters = options.counters;
    this.#maxBatchSize = Math.max(1, options.maxBatchSize ?? 100);
    this.#concurrency = Math.max(1, options.writeConcurrency ?? 16);
    this.#maxBuffered = Math.max(this.#maxBatchSize, options.maxBufferedPairs ?? 5_000);
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 20);
    this.#pageSize = Math.max(1, options.pageSize ?? 100);
    this.#ttl = options.timeToLiveInSeconds;
    // --- partitioning ---
    this.#bucketsPerDay = checkBucketsPerDay(options.bucketsPerDay);
    this.#days = new PairDayIndex(this.#counters, this.#maxAttempts);
    this.#counter = new ShardedPairCounter(this.#counters, { maxAttempts: this.#maxAttempts, ...(options.counterShards === undefined ? {} : { shardCount: options.counterShards }) });
    this.#readLegacy = options.readLegacyPartition ?? true;
  }

  async upsert(pair: PairRecord, options?: OperationOptions): Promise<void> {
    await this.upsertMany([pair], options);
  }

  async upsertMany(pairs: readonly PairRecord[], options?: OperationOptions): Promise<void> {
    this.#open();
    options?.abortSignal?.throwIfAborted();
    if (!Array.isArray(pairs)) throw invalidRequest('upsertMany expects an array of pair records.', 'pairs');
    const docs = pairs.map((p) => this.#toDocument(p)); // all checked before any is queued
    const queued: [string, PairDocument][] = [];
    for (const doc of docs) {
      while (this.#buffer.size >= this.#maxBuffered) {
        this.#startDrain();
        await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
        options?.abortSignal?.throwIfAborted();
      }
      const key = `${doc.pk}\u0000${doc.id}`;
      this.#buffer.delete(key); // re-queue at the end: a newer version is written after the older one
      this.#buffer.set(key, doc);
      queued.push([key, doc]);
    }
    this.#startDrain();
    await this.#awaitWritten(queued);
  }

  /**
   * "Accepted" means written to Cosmos DB: resolves once every one of these documents is, rejects
   * when some could not be (retryable ones stay queued for the next write or flush).
   */
  async #awaitWritten(queued: [string, PairDocument][]): Promise<void> {
    await this.#settle();
    let stillQueued = 0;
    let refusal: unknown;
    for (const [key, doc] of queued) {
      if (this.#buffer.get(key) === doc) stillQueued++;
      if (this.#refused.has(doc)) refusal = this.#refused.get(doc);
      this.#refused.delete(doc);
    }
    if (refusal !== undefined) {
      const status = statusOf(refusal);
      throw new DistilleryError(`Cosmos DB refused a pair record${status ? ` (${status})` : ''}: ${(refusal as Error).message?.split('\n')[0] ?? String(refusal)}`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'pair_refused_by_store',
        retryable: false,
        cause: refusal,
      });
    }
    if (stillQueued > 0) throw cosmosFailure(`pair write (${stillQueued} records not written)`, this.#failure ?? new Error('write interrupted'));
  }

  async get(task: string, tenant: string, id: string, options?: OperationOptions): Promise<PairRecord | undefined> {
    this.#open();
    checkKey(task, 'task', 128);
    checkKey(tenant, 'tenant', 128);
    checkKey(id, 'id');
    options?.abortSignal?.throwIfAborted();
    await this.#settle();
    // The id fixes the bucket but not the day: one point read per recorded day, newest first.
    const days = await this.#days.days(task, tenant, undefined, undefined, options);
    const keys = [...pointReadKeys(task, tenant, id, days), ...(this.#readLegacy ? [legacyPartitionKey(task, tenant)] : [])];
    for (const pk of keys) {
      try {
        const { resource } = await withCosmosRetry(() => this.#pairs.item(id, pk).read<PairDocument>({ abortSignal: options?.abortSignal }), {
          abortSignal: options?.abortSignal,
        });
        if (resource && resource.task === task && resource.tenant === tenant) return resource.pair;
      } catch (err) {
        if (statusOf(err) !== 404) throw cosmosFailure('read', err);
      }
    }
    return undefined;
  }

  async *list(query: PairQuery, options?: OperationOptions): AsyncIterable<PairRecord> {
    this.#open();
    const { since, until, limit } = checkPairQuery(query);
    await this.#settle();
    const tenants = query.tenant !== undefined ? [query.tenant] : await this.#tenantsOf(query.task, options);
    const streams: AsyncIterator<PairDocument>[] = [];
    for (const tenant of tenants) streams.push(...(await this.#partitionStreams(query, tenant, since, until, limit, options)));
    // k-way merge of per-partition streams (every bucket of every tenant), each already in (ts, id) order.
    const heads: { doc: PairDocument; it: AsyncIterator<PairDocument> }[] = [];
    for (const it of streams) {
      const r = await it.next();
      if (!r.done) heads.push({ doc: r.value, it });
    }
    let remaining = limit ?? Number.POSITIVE_INFINITY;
    while (heads.length > 0 && remaining > 0) {
      let best = 0;
      for (let i = 1; i < heads.length; i++) if (compareDocs(heads[i]!.doc, heads[best]!.doc) < 0) best = i;
      const head = heads[best]!;
      yield head.doc.pair;
      remaining--;
      const r = await head.it.next();
      if (r.done) heads.splice(best, 1);
      else head.doc = r.value;
    }
    for (const h of heads) await h.it.return?.();
  }

  async getCounter(task: string, options?: OperationOptions): Promise<number> {
    this.#open();
    checkKey(task, 'task', 128);
    options?.abortSignal?.throwIfAborted();
    await this.#settle();
    return this.#counter.read(task, options); // sharded-pair-counter.ts
  }

  /** Resolves once every accepted record is written; rejects if some could not be (they stay queued). */
  async flush(options?: OperationOptions): Promise<void> {
    this.#open();
    options?.abortSignal?.throwIfAborted();
    await this.#settle();
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      throw cosmosFailure(`pair write (${this.#buffer.size} records still queued)`, failure);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
    }
  }

  /** Records accepted but not yet written. */
  get pendingCount(): number {
    return this.#buffer.size;
  }

  // --- writer -----------------------------------------------------------------------------------

  #startDrain(): void {
    if (this.#drain === undefined) {
      this.#failure = undefined;
      this.#drain = this.#drainLoop().finally(() => {
        this.#drain = undefined;
        this.#wakeWaiters();
      });
    }
  }

  async #settle(): Promise<void> {
    if (this.#buffer.size > 0) this.#startDrain();
    while (this.#drain !== undefined) await this.#drain;
  }

  async #drainLoop(): Promise<void> {
    while (this.#buffer.size > 0) {
      const batch: [string, PairDocument][] = [];
      for (const entry of this.#buffer) {
        batch.push(entry);
        if (batch.length >= this.#maxBatchSize) break;
      }
      for (const [key] of batch) this.#buffer.delete(key);
      this.#wakeWaiters();
      const failed = await this.#writeBatch(batch.map(([, doc]) => doc));
      if (failed.length > 0) {
        // Put the unwritten records back in front (unless a newer version was queued meanwhile)
        // and stop: flush reports the failure, the next write or flush tries again.
        const rest = [...this.#buffer];
        this.#buffer.clear();
        for (const [key, doc] of batch) if (failed.includes(doc) && !rest.some(([k]) => k === key)) this.#buffer.set(key, doc);
        for (const [key, doc] of rest) this.#buffer.set(key, doc);
        return;
      }
    }
  }

  /** Writes one batch; returns the documents that could not be written. */
  async #writeBatch(docs: PairDocument[]): Promise<PairDocument[]> {
    const failed: PairDocument[] = [];
    const newTenants = [...new Set(docs.map((d) => `${d.task}|${d.tenant}`))].filter((k) => !this.#knownTenants.has(k));
    try {
      // Tenants are recorded before their pairs, so a list never misses a written pair.
      await Promise.all(
        newTenants.map(async (k) => {
          const doc = docs.find((d) => `${d.task}|${d.tenant}` === k)!;
          await withCosmosRetry(() => this.#counters.items.upsert({ id: tenantDocId(doc.tenant), task: doc.task, type: 'tenant', tenant: doc.tenant }), {
            maxAttempts: this.#maxAttempts,
          });
          this.#knownTenants.add(k);
        }),
      );
    } catch (err) {
      this.#failure = err;
      return docs;
    }
    try {
      await this.#days.record(docs, this.#bucketsPerDay); // days before their pairs, like tenants
    } catch (err) {
      this.#failure = err;
      return docs;
    }
    const added = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < docs.length) {
        const doc = docs[next++]!;
        try {
          const res = await withCosmosRetry(() => this.#pairs.items.upsert(doc), { maxAttempts: this.#maxAttempts });
          if (res.statusCode === 201) added.set(doc.task, (added.get(doc.task) ?? 0) + 1);
        } catch (err) {
          this.#failure = err;
          // A non-retryable refusal (e.g. 413 too large) would fail forever: the caller hears of it.
          if (isRetryable(err)) failed.push(doc);
          else this.#refused.set(doc, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, docs.length) }, worker));
    for (const [task, n] of added) {
      try {
        await this.#bumpCounter(task, n);
      } catch (err) {
        this.#failure = err;
      }
    }
    return failed;
  }

  async #bumpCounter(task: string, n: number): Promise<void> {
    await this.#counter.add(task, n); // sharded-pair-counter.ts
  }

  #wakeWaiters(): void {
    const waiters = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of waiters) w();
  }

  // --- reads ------------------------------------------------------------------------------------

  async #tenantsOf(task: string, options?: OperationOptions): Promise<string[]> {
    const tenants: string[] = [];
    const iterator = this.#counters.items.query<{ tenant: string }>(
      {
        query: 'SELECT * FROM c WHERE c.task = @task AND c.type = @type',
        parameters: [
          { name: '@task', value: task },
          { name: '@type', value: 'tenant' },
        ],
      },
      { partitionKey: task, maxItemCount: 1_000, abortSignal: options?.abortSignal },
    );
    try {
      while (iterator.hasMoreResults()) {
        const page = await withCosmosRetry(() => iterator.fetchNext(), { abortSignal: options?.abortSignal });
        for (const r of page.resources) tenants.push(r.tenant);
      }
    } catch (err) {
      throw cosmosFailure('tenant query', err);
    }
    return tenants;
  }

  /**
   * One stream per bucket over the asked days (each concatenating that bucket's day partitions,
   * in day order), plus the legacy partition: each stream is in (ts, id) order.
   */
  async #partitionStreams(
    query: PairQuery,
    tenant: string,
    since: string | undefined,
    until: string | undefined,
    limit: number | undefined,
    options?: OperationOptions,
  ): Promise<AsyncIterator<PairDocument>[]> {
    const plan = bucketStreamPlan(query.task, tenant, await this.#days.days(query.task, tenant, since, until, options));
    if (this.#readLegacy) plan.push([legacyPartitionKey(query.task, tenant)]);
    const concat = async function* (this: CosmosPairStore, keys: string[]): AsyncIterable<PairDocument> {
      for (const pk of keys) yield* this.#queryTenant(query, tenant, pk, since, until, limit, options);
    };
    return plan.filter((keys) => keys.length > 0).map((keys) => concat.call(this, keys)[Symbol.asyncIterator]());
  }

  async *#queryTenant(
    query: PairQuery,
    tenant: string,
    pk: string,
    since: string | undefined,
    until: string | undefined,
    limit: number | undefined,
    options?: OperationOptions,
  ): AsyncIterable<PairDocument> {
    const where = ['c.pk = @pk', 'c.task = @task', 'c.tenant = @tenant'];
    const parameters: SqlParameter[] = [
      { name: '@pk', value: pk },
      { name: '@task', value: query.task },
      { name: '@tenant', value: tenant },
    ];
    if (since !== undefined) {
      where.push('c.ts >= @since');
      parameters.push({ name: '@since', value: since });
    }
    if (until !== undefined) {
      where.push('c.ts < @until');
      parameters.push({ name: '@until', value: until });
    }
    if (query.sourceKind !== undefined) {
      where.push('c.sourceKind = @sourceKind');
      parameters.push({ name: '@sourceKind', value: query.sourceKind });
    }
    if (query.datasetId !== undefined) {
      where.push('c.datasetId = @datasetId');
      parameters.push({ name: '@datasetId', value: query.datasetId });
    }
    const pageSize = Math.max(1, Math.min(this.#pageSize, limit ?? this.#pageSize));
    let continuationToken: string | undefined;
    do {
      options?.abortSignal?.throwIfAborted();
      // One page per request, resumed from its continuation token: memory holds a page at most.
      const iterator = this.#pairs.items.query<PairDocument>(
        { query: `SELECT * FROM c WHERE ${where.join(' AND ')} ORDER BY c.ts, c.id`, parameters },
        { partitionKey: pk, maxItemCount: pageSize, continuationToken, abortSignal: options?.abortSignal },
      );
      let page;
      try {
        page = await withCosmosRetry(() => iterator.fetchNext(), { abortSignal: options?.abortSignal });
      } catch (err) {
        throw cosmosFailure('pair query', err);
      }
      for (const doc of page.resources) yield doc;
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  #toDocument(pair: PairRecord): PairDocument {
    checkPairRecord(pair);
    let copy: PairRecord;
    try {
      copy = JSON.parse(JSON.stringify(pair)) as PairRecord; // snapshot: later caller mutations do not leak in
    } catch (err) {
      throw invalidRequest(`Pair record '${pair.id}' is not serializable: ${(err as Error).message}`, 'pair');
    }
    const ts = canonicalTime(pair.createdAt, 'createdAt');
    return {
      id: pair.id,
      pk: pairPartitionKey(pair.task, pair.tenant, ts, pair.id, this.#bucketsPerDay), // pair-partition-key.ts
      task: pair.task,
      tenant: pair.tenant,
      ts,
      sourceKind: pair.source.kind,
      ...(pair.source.datasetId === undefined ? {} : { datasetId: pair.source.datasetId }),
      pair: copy,
      ...(this.#ttl === undefined ? {} : { ttl: this.#ttl }),
    };
  }

  #open(): void {
    if (this.#closed) throw storeClosedError('CosmosPairStore');
  }
}

function compareDocs(a: PairDocument, b: PairDocument): number {
  return a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0;
}

