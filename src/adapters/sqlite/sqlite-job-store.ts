import { ConcurrencyError, invalidRequest, notFound } from '../../core/errors.js';
import type { JobQuery, JobRecord, JobStore, OperationOptions, PendingTrigger, PendingTriggerEntry } from '../../core/ports.js';
import { coalesceTrigger } from '../shared/pending-trigger.js';
import { checkJobQuery, checkJobRecord, serializeJob } from '../shared/check-job-record.js';
import { canonicalTime, checkKey } from '../shared/check-pair-record.js';
import { checkAbort, openDatabase, storeClosedError, whileBusy, type SqliteDatabase, type Transaction } from './open-database.js';

// The embedded JobStore. The etag is a per-row version counter; `update` is a compare-and-set
// (UPDATE ... WHERE version = ?), so of two workers holding the same etag exactly one advances
// the job and the other gets a ConcurrencyError, as with Cosmos DB's IfMatch.
// The serving thread uses this store (admin routes, triggers): a lock held by another connection
// is waited for with an async back-off (whileBusy), never SQLite's blocking busy time-out.

export interface SqliteJobStoreOptions {
  path: string;
  pageSize?: number;
  /** How long an operation waits for another connection's lock before a retryable 503 (default 2 s). */
  busyDeadlineInMs?: number;
}

interface JobRow {
  id: string;
  created_at: string;
  version: number;
  body: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  task TEXT NOT NULL,
  tenant TEXT,
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_by_task_time ON jobs (task, created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS job_pending_triggers (
  task TEXT PRIMARY KEY,
  body TEXT NOT NULL
) WITHOUT ROWID;
`;

const toRecord = (row: JobRow): JobRecord => ({ ...(JSON.parse(row.body) as JobRecord), etag: String(row.version) });

export class SqliteJobStore implements JobStore {
  readonly #db: SqliteDatabase;
  readonly #pageSize: number;
  readonly #busyDeadlineInMs: number | undefined;
  #closed = false;
  readonly #insert;
  readonly #update;
  readonly #get;
  readonly #recordTx: Transaction<(task: string, trigger: PendingTriggerEntry) => PendingTrigger>;
  readonly #takeTx: Transaction<(task: string) => PendingTrigger | undefined>;
  readonly #getPending;

  constructor(options: SqliteJobStoreOptions) {
    this.#db = openDatabase({ path: options.path, busyTimeoutInMs: 0 });
    this.#db.exec(SCHEMA);
    this.#pageSize = Math.max(1, Math.floor(options.pageSize ?? 200));
    this.#busyDeadlineInMs = options.busyDeadlineInMs;
    this.#insert = this.#db.prepare(
      `INSERT OR IGNORE INTO jobs (id, task, tenant, state, created_at, version, body) VALUES (?, ?, ?, ?, ?, 1, ?)`,
    );
    this.#update = this.#db.prepare(
      `UPDATE jobs SET task = ?, tenant = ?, state = ?, created_at = ?, version = version + 1, body = ?
       WHERE id = ? AND version = ?`,
    );
    this.#get = this.#db.prepare(`SELECT id, created_at, version, body FROM jobs WHERE id = ?`);
    // Pending triggers: one row per task, read-modify-write inside one transaction (atomic).
    this.#getPending = this.#db.prepare(`SELECT body FROM job_pending_triggers WHERE task = ?`);
    const put = this.#db.prepare(`INSERT OR REPLACE INTO job_pending_triggers (task, body) VALUES (?, ?)`);
    const del = this.#db.prepare(`DELETE FROM job_pending_triggers WHERE task = ?`);
    this.#recordTx = this.#db.transaction((task: string, trigger: PendingTriggerEntry) => {
      const row = this.#getPending.get(task) as { body: string } | undefined;
      const next = coalesceTrigger(task, row ? (JSON.parse(row.body) as PendingTrigger) : undefined, trigger);
      put.run(task, JSON.stringify(next));
      return next;
    });
    this.#takeTx = this.#db.transaction((task: string) => {
      const row = this.#getPending.get(task) as { body: string } | undefined;
      if (row) del.run(task);
      return row ? (JSON.parse(row.body) as PendingTrigger) : undefined;
    });
  }

  async recordPendingTrigger(task: string, trigger: PendingTriggerEntry, options?: OperationOptions): Promise<PendingTrigger> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkKey(task, 'task', 128);
    return this.#busy(() => this.#recordTx.immediate(task, trigger), options);
  }

  async getPendingTrigger(task: string, options?: OperationOptions): Promise<PendingTrigger | undefined> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkKey(task, 'task', 128);
    const row = (await this.#busy(() => this.#getPending.get(task), options)) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as PendingTrigger) : undefined;
  }

  async takePendingTrigger(task: string, options?: OperationOptions): Promise<PendingTrigger | undefined> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkKey(task, 'task', 128);
    return this.#busy(() => this.#takeTx.immediate(task), options);
  }

  async create(job: JobRecord, options?: OperationOptions): Promise<JobRecord> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkJobRecord(job);
    const body = serializeJob(job);
    const createdAt = canonicalTime(job.createdAt, 'createdAt');
    const result = await this.#busy(() => this.#insert.run(job.id, job.task, job.tenant ?? null, job.state, createdAt, body), options);
    if (result.changes !== 1) throw new ConcurrencyError(`Job '${job.id}' already exists.`);
    return { ...(JSON.parse(body) as JobRecord), etag: '1' };
  }

  async get(id: string, options?: OperationOptions & { task?: string }): Promise<JobRecord | undefined> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkKey(id, 'id');
    const row = (await this.#busy(() => this.#get.get(id), options)) as JobRow | undefined;
    if (row === undefined) return undefined;
    const job = toRecord(row);
    // A task given by the caller scopes the read, as the partition key does in Cosmos DB.
    if (options?.task !== undefined && job.task !== options.task) return undefined;
    return job;
  }

  async update(job: JobRecord, options?: OperationOptions): Promise<JobRecord> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkJobRecord(job);
    if (typeof job.etag !== 'string' || !/^\d+$/.test(job.etag)) {
      throw invalidRequest('update needs the etag of the record it replaces.', 'etag');
    }
    const body = serializeJob(job);
    const version = Number(job.etag);
    const createdAt = canonicalTime(job.createdAt, 'createdAt');
    const result = await this.#busy(() => this.#update.run(job.task, job.tenant ?? null, job.state, createdAt, body, job.id, version), options);
    if (result.changes !== 1) {
      const current = (await this.#busy(() => this.#get.get(job.id), options)) as JobRow | undefined;
      if (current === undefined) throw notFound(`Job '${job.id}' does not exist.`, 'job_not_found');
      throw new ConcurrencyError(`Job '${job.id}' was changed by another writer (etag ${job.etag} is stale).`);
    }
    return { ...(JSON.parse(body) as JobRecord), etag: String(version + 1) };
  }

  async *list(query?: JobQuery, options?: OperationOptions): AsyncIterable<JobRecord> {
    this.#open();
    const q = checkJobQuery(query);
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.task !== undefined) {
      where.push('task = ?');
      params.push(q.task);
    }
    if (q.tenant !== undefined) {
      where.push('tenant = ?');
      params.push(q.tenant);
    }
    if (q.states !== undefined) {
      if (q.states.length === 0) return;
      where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
      params.push(...q.states);
    }
    const sql = (resume: boolean) => {
      const clauses = [...where, ...(resume ? ['(created_at < ? OR (created_at = ? AND id < ?))'] : [])];
      return `SELECT id, created_at, version, body FROM jobs ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
              ORDER BY created_at DESC, id DESC LIMIT ?`;
    };
    const first = this.#db.prepare(sql(false));
    const next = this.#db.prepare(sql(true));
    let cursor: JobRow | undefined;
    for (;;) {
      checkAbort(options?.abortSignal);
      this.#open();
      const after = cursor;
      const rows = (await this.#busy(
        () => (after === undefined ? first.all(...params, this.#pageSize) : next.all(...params, after.created_at, after.created_at, after.id, this.#pageSize)),
        options,
      )) as JobRow[];
      for (const row of rows) yield toRecord(row);
      if (rows.length < this.#pageSize) return;
      cursor = rows[rows.length - 1];
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #open(): void {
    if (this.#closed) throw storeClosedError('SqliteJobStore');
  }

  #busy<T>(operation: () => T, options: OperationOptions | undefined): Promise<T> {
    return whileBusy(() => {
      this.#open();
      return operation();
    }, { name: 'SqliteJobStore', deadlineInMs: this.#busyDeadlineInMs, abortSignal: options?.abortSignal });
  }
}
