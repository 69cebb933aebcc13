import type { Container, SqlParameter } from '@azure/cosmos';
import { ConcurrencyError, invalidRequest, notFound } from '../../core/errors.js';
import type { JobQuery, JobRecord, JobStore, OperationOptions, PendingTrigger, PendingTriggerEntry } from '../../core/ports.js';
import { coalesceTrigger } from '../shared/pending-trigger.js';
import { checkJobQuery, checkJobRecord } from '../shared/check-job-record.js';
import { canonicalTime, checkKey } from '../shared/check-pair-record.js';
import { cosmosFailure, statusOf, withCosmosRetry } from './cosmos-retry.js';

// JobStore on Cosmos DB, partition key /task. Every state transition is a replace guarded by
// `IfMatch` on the item's _etag: of two workers holding the same version exactly one wins and the
// other gets a ConcurrencyError (Cosmos answers 412). Reads and lists by task are single-partition;
// `get` without a task and `list` without a task are the only cross-partition queries (operator
// views: the worker and the router always know the task).

export interface CosmosJobStoreOptions {
  /** The `jobs` container (partition key /task). */
  jobs: Container;
  pageSize?: number;
  /** Per-item TTL in seconds, overriding the container default. */
  timeToLiveInSeconds?: number;
}

interface JobDocument {
  id: string;
  task: string;
  tenant?: string;
  state: string;
  /** createdAt in canonical ISO form, for ordering. */
  ts: string;
  job: Omit<JobRecord, 'etag'>;
  ttl?: number;
  _etag?: string;
  /** Set on the one pending-trigger document of a task (never on a job). */
  docType?: 'pending-trigger';
}

/** A task's pending trigger request lives in the task's partition, beside its jobs. */
interface PendingTriggerDocument {
  id: typeof PENDING_ID;
  task: string;
  docType: 'pending-trigger';
  pending: PendingTrigger;
  _etag?: string;
}

const PENDING_ID = '__pending_trigger__';

export class CosmosJobStore implements JobStore {
  readonly #jobs: Container;
  readonly #pageSize: number;
  readonly #ttl?: number;

  constructor(options: CosmosJobStoreOptions) {
    this.#jobs = options.jobs;
    this.#pageSize = Math.max(1, options.pageSize ?? 100);
    this.#ttl = options.timeToLiveInSeconds;
  }

  async create(job: JobRecord, options?: OperationOptions): Promise<JobRecord> {
    const doc = this.#toDocument(job);
    options?.abortSignal?.throwIfAborted();
    try {
      const { resource } = await withCosmosRetry(() => this.#jobs.items.create(doc, { abortSignal: options?.abortSignal }), {
        abortSignal: options?.abortSignal,
      });
      return toRecord(resource as unknown as JobDocument);
    } catch (err) {
      if (statusOf(err) === 409) throw new ConcurrencyError(`Job '${job.id}' already exists.`);
      throw cosmosFailure('job create', err);
    }
  }

  async get(id: string, options?: OperationOptions & { task?: string }): Promise<JobRecord | undefined> {
    checkKey(id, 'id');
    if (options?.task !== undefined) checkKey(options.task, 'task', 128);
    options?.abortSignal?.throwIfAborted();
    if (options?.task !== undefined) {
      const task = options.task;
      try {
        const { resource } = await withCosmosRetry(() => this.#jobs.item(id, task).read<JobDocument>({ abortSignal: options.abortSignal }), {
          abortSignal: options.abortSignal,
        });
        return resource && resource.task === task && !resource.docType ? toRecord(resource) : undefined;
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw cosmosFailure('job read', err);
      }
    }
    for await (const doc of this.#query('SELECT * FROM c WHERE c.id = @id', [{ name: '@id', value: id }], undefined, options)) {
      if (!doc.docType) return toRecord(doc);
    }
    return undefined;
  }

  async update(job: JobRecord, options?: OperationOptions): Promise<JobRecord> {
    const doc = this.#toDocument(job);
    if (typeof job.etag !== 'string' || job.etag.length === 0) {
      throw invalidRequest('update needs the etag of the record it replaces.', 'etag');
    }
    options?.abortSignal?.throwIfAborted();
    try {
      const { resource } = await withCosmosRetry(
        () =>
          this.#jobs.item(job.id, job.task).replace(doc, {
            accessCondition: { type: 'IfMatch', condition: job.etag! },
            abortSignal: options?.abortSignal,
          }),
        { abortSignal: options?.abortSignal },
      );
      return toRecord(resource as unknown as JobDocument);
    } catch (err) {
      const status = statusOf(err);
      if (status === 412) throw new ConcurrencyError(`Job '${job.id}' was changed by another writer (etag is stale).`);
      if (status === 404) throw notFound(`Job '${job.id}' does not exist.`, 'job_not_found');
      throw cosmosFailure('job update', err);
    }
  }

  async *list(query?: JobQuery, options?: OperationOptions): AsyncIterable<JobRecord> {
    const q = checkJobQuery(query);
    const where: string[] = [];
    const parameters: SqlParameter[] = [];
    if (q.task !== undefined) {
      where.push('c.task = @task');
      parameters.push({ name: '@task', value: q.task });
    }
    if (q.tenant !== undefined) {
      where.push('c.tenant = @tenant');
      parameters.push({ name: '@tenant', value: q.tenant });
    }
    if (q.states !== undefined) {
      if (q.states.length === 0) return;
      where.push(`c.state IN (${q.states.map((_, i) => `@s${i}`).join(', ')})`);
      q.states.forEach((s, i) => parameters.push({ name: `@s${i}`, value: s }));
    }
    const sql = `SELECT * FROM c${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.ts DESC, c.id DESC`;
    for await (const doc of this.#query(sql, parameters, q.task, options)) if (!doc.docType) yield toRecord(doc);
  }

  async recordPendingTrigger(task: string, trigger: PendingTriggerEntry, options?: OperationOptions): Promise<PendingTrigger> {
    checkKey(task, 'task', 128);
    for (let attempt = 0; ; attempt++) {
      const current = await this.#readPending(task, options);
      const pending = coalesceTrigger(task, current?.pending, trigger);
      const doc: PendingTriggerDocument = { id: PENDING_ID, task, docType: 'pending-trigger', pending };
      try {
        // Create when absent, replace only the version read: racing triggers coalesce, none is lost.
        if (current) {
          await this.#jobs.item(PENDING_ID, task).replace(doc, { accessCondition: { type: 'IfMatch', condition: current._etag! }, abortSignal: options?.abortSignal });
        } else {
          await this.#jobs.items.create(doc, { abortSignal: options?.abortSignal });
        }
        return pending;
      } catch (err) {
        const status = statusOf(err);
        if ((status === 412 || status === 409 || status === 404) && attempt < 20) continue;
        throw cosmosFailure('pending trigger write', err);
      }
    }
  }

  async getPendingTrigger(task: string, options?: OperationOptions): Promise<PendingTrigger | undefined> {
    checkKey(task, 'task', 128);
    return (await this.#readPending(task, options))?.pending;
  }

  async takePendingTrigger(task: string, options?: OperationOptions): Promise<PendingTrigger | undefined> {
    checkKey(task, 'task', 128);
    for (let attempt = 0; ; attempt++) {
      const current = await this.#readPending(task, options);
      if (!current) return undefined;
      try {
        await this.#jobs.item(PENDING_ID, task).delete({ accessCondition: { type: 'IfMatch', condition: current._etag! }, abortSignal: options?.abortSignal });
        return current.pending;
      } catch (err) {
        const status = statusOf(err);
        if (status === 404) return undefined; // another caller took it
        if (status === 412 && attempt < 20) continue; // a trigger coalesced into it meanwhile
        throw cosmosFailure('pending trigger take', err);
      }
    }
  }

  async #readPending(task: string, options?: OperationOptions): Promise<PendingTriggerDocument | undefined> {
    options?.abortSignal?.throwIfAborted();
    try {
      const { resource } = await withCosmosRetry(() => this.#jobs.item(PENDING_ID, task).read<PendingTriggerDocument>({ abortSignal: options?.abortSignal }), {
        abortSignal: options?.abortSignal,
      });
      return resource?.docType === 'pending-trigger' ? resource : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw cosmosFailure('pending trigger read', err);
    }
  }

  async *#query(query: string, parameters: SqlParameter[], partitionKey: string | undefined, options?: OperationOptions): AsyncIterable<JobDocument> {
    let continuationToken: string | undefined;
    do {
      options?.abortSignal?.throwIfAborted();
      const iterator = this.#jobs.items.query<JobDocument>(
        { query, parameters },
        { maxItemCount: this.#pageSize, continuationToken, abortSignal: options?.abortSignal, ...(partitionKey === undefined ? {} : { partitionKey }) },
      );
      let page;
      try {
        page = await withCosmosRetry(() => iterator.fetchNext(), { abortSignal: options?.abortSignal });
      } catch (err) {
        throw cosmosFailure('job query', err);
      }
      for (const doc of page.resources) yield doc;
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  #toDocument(job: JobRecord): JobDocument {
    checkJobRecord(job);
    const { etag: _etag, ...rest } = job;
    let copy: Omit<JobRecord, 'etag'>;
    try {
      copy = JSON.parse(JSON.stringify(rest)) as Omit<JobRecord, 'etag'>;
    } catch (err) {
      throw invalidRequest(`Job '${job.id}' is not serializable: ${(err as Error).message}`, 'job');
    }
    return {
      id: job.id,
      task: job.task,
      ...(job.tenant === undefined ? {} : { tenant: job.tenant }),
      state: job.state,
      ts: canonicalTime(job.createdAt, 'createdAt'),
      job: copy,
      ...(this.#ttl === undefined ? {} : { ttl: this.#ttl }),
    };
  }
}

function toRecord(doc: JobDocument): JobRecord {
  return { ...(doc.job as JobRecord), etag: doc._etag };
}
