import { invalidRequest } from '../../core/errors.js';
import type { PairQuery, PairRecord } from '../../core/pairs/pair-record.js';
import type { OperationOptions, PairStore } from '../../core/ports.js';
import { canonicalTime, checkKey, checkPairQuery, checkPairRecord } from '../shared/check-pair-record.js';
import { checkAbort, openDatabase, storeClosedError, whileBusy, type SqliteDatabase, type Transaction } from './open-database.js';

// The embedded PairStore: one SQLite file (or ':memory:'). Records are stored whole as JSON, with
// the columns every query filters or orders on copied out and indexed. Writes are synchronous
// inside better-sqlite3, so a resolved upsert is already durable (WAL) and flush has nothing to do.
// The server runs this class on a thread of its own (sqlite-pair-store-thread.ts); a lock held by
// another connection is waited for with an async back-off (whileBusy), never a blocking sleep.

export interface SqlitePairStoreOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** Rows fetched per page by list (keyset paging: memory stays bounded whatever the result size). */
  pageSize?: number;
  /** How long a write waits for another connection's lock before a retryable 503 (default 2 s). */
  busyDeadlineInMs?: number;
}

interface PairRow {
  id: string;
  tenant: string;
  created_at: string;
  body: string;
}

interface PreparedPair {
  id: string;
  task: string;
  tenant: string;
  createdAt: string;
  sourceKind: string;
  datasetId: string | null;
  body: string;
}

// A rowid table (issue 19): rows are appended in arrival order and only the small key index takes
// the random request ids. Keyed WITHOUT ROWID, each ~1 KB record went into the primary B-tree at a
// random place, so a batch rewrote a page per record: 2× the CPU per pair (67 → 33 µs in batches
// of 30 over 50k rows, the SQLite thread's share of a request on one core). A database made before
// keeps its table as it is (CREATE … IF NOT EXISTS); every statement reads both alike.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS pairs (
  task TEXT NOT NULL,
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  source_kind TEXT NOT NULL,
  dataset_id TEXT,
  body TEXT NOT NULL,
  PRIMARY KEY (task, tenant, id)
);
CREATE INDEX IF NOT EXISTS pairs_by_task_time ON pairs (task, created_at, id, tenant);
CREATE INDEX IF NOT EXISTS pairs_by_tenant_time ON pairs (task, tenant, created_at, id);
CREATE TABLE IF NOT EXISTS pair_counters (
  task TEXT PRIMARY KEY,
  count INTEGER NOT NULL
) WITHOUT ROWID;
`;

export class SqlitePairStore implements PairStore {
  readonly #db: SqliteDatabase;
  readonly #pageSize: number;
  readonly #busyDeadlineInMs: number | undefined;
  #closed = false;
  readonly #insert;
  readonly #replace;
  readonly #bump;
  readonly #get;
  readonly #counter;
  readonly #writeMany: Transaction<(pairs: PreparedPair[]) => void>;

  constructor(options: SqlitePairStoreOptions) {
    this.#db = openDatabase({ path: options.path, busyTimeoutInMs: 0 });
    this.#db.exec(SCHEMA);
    this.#pageSize = Math.max(1, Math.floor(options.pageSize ?? 500));
    this.#busyDeadlineInMs = options.busyDeadlineInMs;
    this.#insert = this.#db.prepare(
      `INSERT OR IGNORE INTO pairs (task, tenant, id, created_at, source_kind, dataset_id, body)
       VALUES (@task, @tenant, @id, @createdAt, @sourceKind, @datasetId, @body)`,
    );
    this.#replace = this.#db.prepare(
      `UPDATE pairs SET created_at = @createdAt, source_kind = @sourceKind, dataset_id = @datasetId, body = @body
       WHERE task = @task AND tenant = @tenant AND id = @id`,
    );
    this.#bump = this.#db.prepare(
      `INSERT INTO pair_counters (task, count) VALUES (?, ?) ON CONFLICT (task) DO UPDATE SET count = count + excluded.count`,
    );
    this.#get = this.#db.prepare(`SELECT id, tenant, created_at, body FROM pairs WHERE task = ? AND tenant = ? AND id = ?`);
    this.#counter = this.#db.prepare(`SELECT count FROM pair_counters WHERE task = ?`);
    // INSERT OR IGNORE tells a first insert (changes = 1) from a replace, so the per-task counter
    // counts new pairs only and a retried write never inflates it.
    this.#writeMany = this.#db.transaction((pairs: PreparedPair[]) => {
      const added = new Map<string, number>();
      for (const p of pairs) {
        if (this.#insert.run(p).changes === 1) added.set(p.task, (added.get(p.task) ?? 0) + 1);
        else this.#replace.run(p);
      }
      for (const [task, n] of added) this.#bump.run(task, n);
    });
  }

  async upsert(pair: PairRecord, options?: OperationOptions): Promise<void> {
    await this.upsertMany([pair], options);
  }

  async upsertMany(pairs: readonly PairRecord[], options?: OperationOptions): Promise<void> {
    this.#open();
    checkAbort(options?.abortSignal);
    if (!Array.isArray(pairs)) throw invalidRequest('upsertMany expects an array of pair records.', 'pairs');
    // Everything is checked and serialized before the transaction starts: one bad record refuses
    // the whole batch and nothing is written.
    const prepared = pairs.map(preparePair);
    if (prepared.length === 0) return;
    // BEGIN IMMEDIATE: the lock is taken up front, so a busy database fails before any statement
    // and the retried transaction starts clean.
    await this.#busy(() => this.#writeMany.immediate(prepared), options);
  }

  async get(task: string, tenant: string, id: string, options?: OperationOptions): Promise<PairRecord | undefined> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkKey(task, 'task', 128);
    checkKey(tenant, 'tenant', 128);
    checkKey(id, 'id');
    const row = (await this.#busy(() => this.#get.get(task, tenant, id), options)) as PairRow | undefined;
    return row === undefined ? undefined : (JSON.parse(row.body) as PairRecord);
  }

  async *list(query: PairQuery, options?: OperationOptions): AsyncIterable<PairRecord> {
    this.#open();
    const { since, until, limit } = checkPairQuery(query);
    const where = ['task = @task'];
    const params: Record<string, unknown> = { task: query.task };
    if (query.tenant !== undefined) {
      where.push('tenant = @tenant');
      params.tenant = query.tenant;
    }
    if (since !== undefined) {
      where.push('created_at >= @since');
      params.since = since;
    }
    if (until !== undefined) {
      where.push('created_at < @until');
      params.until = until;
    }
    if (query.sourceKind !== undefined) {
      where.push('source_kind = @sourceKind');
      params.sourceKind = query.sourceKind;
    }
    if (query.datasetId !== undefined) {
      where.push('dataset_id = @datasetId');
      params.datasetId = query.datasetId;
    }
    // Keyset paging on (created_at, id, tenant): each page resumes strictly after the last row,
    // so rows written meanwhile never shift a page and memory holds one page at most.
    const after = `(created_at > @afterTime OR (created_at = @afterTime AND (id > @afterId OR (id = @afterId AND tenant > @afterTenant))))`;
    const sql = (resume: boolean) =>
      `SELECT id, tenant, created_at, body FROM pairs WHERE ${[...where, ...(resume ? [after] : [])].join(' AND ')}
       ORDER BY created_at, id, tenant LIMIT @pageSize`;
    const first = this.#db.prepare(sql(false));
    const next = this.#db.prepare(sql(true));
    let remaining = limit ?? Number.POSITIVE_INFINITY;
    let cursor: PairRow | undefined;
    while (remaining > 0) {
      checkAbort(options?.abortSignal);
      this.#open();
      const pageSize = Math.min(this.#pageSize, remaining);
      const after = cursor;
      const rows = (await this.#busy(
        () =>
          after === undefined
            ? first.all({ ...params, pageSize })
            : next.all({ ...params, pageSize, afterTime: after.created_at, afterId: after.id, afterTenant: after.tenant }),
        options,
      )) as PairRow[];
      for (const row of rows) yield JSON.parse(row.body) as PairRecord;
      remaining -= rows.length;
      if (rows.length < pageSize) return;
      cursor = rows[rows.length - 1];
    }
  }

  async getCounter(task: string, options?: OperationOptions): Promise<number> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkKey(task, 'task', 128);
    const row = (await this.#busy(() => this.#counter.get(task), options)) as { count: number } | undefined;
    return row?.count ?? 0;
  }

  async flush(options?: OperationOptions): Promise<void> {
    this.#open();
    checkAbort(options?.abortSignal);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #open(): void {
    if (this.#closed) throw storeClosedError('SqlitePairStore');
  }

  #busy<T>(operation: () => T, options: OperationOptions | undefined): Promise<T> {
    return whileBusy(() => {
      this.#open();
      return operation();
    }, { name: 'SqlitePairStore', deadlineInMs: this.#busyDeadlineInMs, abortSignal: options?.abortSignal });
  }
}

function preparePair(pair: PairRecord): PreparedPair {
  checkPairRecord(pair);
  let body: string;
  try {
    body = JSON.stringify(pair);
  } catch (err) {
    throw invalidRequest(`Pair record '${pair.id}' is not serializable: ${(err as Error).message}`, 'pair');
  }
  return {
    id: pair.id,
    task: pair.task,
    tenant: pair.tenant,
    createdAt: canonicalTime(pair.createdAt, 'createdAt'),
    sourceKind: pair.source.kind,
    datasetId: pair.source.datasetId ?? null,
    body,
  };
}
