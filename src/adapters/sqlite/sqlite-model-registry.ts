import { notFound } from '../../core/errors.js';
import type { ModelRegistry, ModelVersion, OperationOptions } from '../../core/ports.js';
import { checkAbort, openDatabase, storeClosedError, whileBusy, type SqliteDatabase } from './open-database.js';
import { checkNewVersion, checkTask, checkVersionNumber, nothingToRollBack, type NewVersion } from '../shared/check-model-version.js';

// The embedded ModelRegistry. Versions are numbered per task inside a write transaction, so two
// trainers finishing together never get the same number. Promotions are kept as a per-task
// stack: `promote` pushes, `rollback` pops the current version and re-promotes the one promoted
// before it, so repeated rollbacks walk back through history instead of flip-flopping between
// the last two versions. Every state change runs in one transaction: there is never a moment
// with two promoted versions, or none while one was promoted.

export interface SqliteModelRegistryOptions {
  path: string;
  /** Injected for tests; ISO timestamps of createdAt / promotedAt. */
  now?: () => Date;
}

interface VersionRow {
  task: string;
  version: number;
  state: ModelVersion['state'];
  row_version: number;
  body: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS model_versions (
  task TEXT NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  row_version INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (task, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS model_versions_promoted ON model_versions (task, state);
CREATE TABLE IF NOT EXISTS model_promotions (
  task TEXT NOT NULL,
  seq INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (task, seq)
) WITHOUT ROWID;
`;


export class SqliteModelRegistry implements ModelRegistry {
  readonly #db: SqliteDatabase;
  readonly #now: () => Date;
  #closed = false;
  readonly #get;
  readonly #promoted;
  readonly #maxVersion;
  readonly #insert;
  readonly #setState;
  readonly #push;
  readonly #stack;
  readonly #pop;

  constructor(options: SqliteModelRegistryOptions) {
    // busy_timeout 0: the serving thread reads the promoted version and promotes through admin
    // routes; a lock held by another connection is waited for asynchronously (#busy).
    this.#db = openDatabase({ path: options.path, busyTimeoutInMs: 0 });
    this.#db.exec(SCHEMA);
    this.#now = options.now ?? (() => new Date());
    this.#get = this.#db.prepare(`SELECT task, version, state, row_version, body FROM model_versions WHERE task = ? AND version = ?`);
    this.#promoted = this.#db.prepare(
      `SELECT task, version, state, row_version, body FROM model_versions WHERE task = ? AND state = 'promoted'`,
    );
    this.#maxVersion = this.#db.prepare(`SELECT MAX(version) AS v FROM model_versions WHERE task = ?`);
    this.#insert = this.#db.prepare(
      `INSERT INTO model_versions (task, version, state, row_version, body) VALUES (?, ?, 'candidate', 1, ?)`,
    );
    this.#setState = this.#db.prepare(
      `UPDATE model_versions SET state = ?, row_version = row_version + 1, body = ? WHERE task = ? AND version = ?`,
    );
    this.#push = this.#db.prepare(
      `INSERT INTO model_promotions (task, seq, version)
       VALUES (?, COALESCE((SELECT MAX(seq) FROM model_promotions WHERE task = ?), 0) + 1, ?)`,
    );
    this.#stack = this.#db.prepare(`SELECT seq, version FROM model_promotions WHERE task = ? ORDER BY seq DESC`);
    this.#pop = this.#db.prepare(`DELETE FROM model_promotions WHERE task = ? AND seq = ?`);
  }

  async create(version: NewVersion, options?: OperationOptions): Promise<ModelVersion> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkNewVersion(version);
    const createdAt = this.#now().toISOString();
    const tx = this.#db.transaction(() => {
      const max = (this.#maxVersion.get(version.task) as { v: number | null }).v ?? 0;
      const n = max + 1;
      const { etag: _etag, ...rest } = version as NewVersion & { etag?: string };
      const record: ModelVersion = {
        ...rest,
        id: `${version.task}@${n}`,
        task: version.task,
        version: n,
        state: 'candidate',
        lineage: { ...version.lineage },
        createdAt,
      };
      delete (record as Partial<ModelVersion>).promotedAt;
      const body = JSON.stringify(record);
      this.#insert.run(version.task, n, body);
      return { ...(JSON.parse(body) as ModelVersion), etag: '1' };
    });
    return this.#busy(() => tx.immediate(), options);
  }

  async get(task: string, version: number, options?: OperationOptions): Promise<ModelVersion | undefined> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkTask(task);
    checkVersionNumber(version);
    const row = (await this.#busy(() => this.#get.get(task, version), options)) as VersionRow | undefined;
    return row === undefined ? undefined : toVersion(row);
  }

  async *list(task: string, options?: OperationOptions): AsyncIterable<ModelVersion> {
    this.#open();
    checkTask(task);
    const page = this.#db.prepare(
      `SELECT task, version, state, row_version, body FROM model_versions WHERE task = ? AND version < ? ORDER BY version DESC LIMIT 100`,
    );
    let below = Number.MAX_SAFE_INTEGER;
    for (;;) {
      checkAbort(options?.abortSignal);
      this.#open();
      const under = below;
      const rows = (await this.#busy(() => page.all(task, under), options)) as VersionRow[];
      for (const row of rows) yield toVersion(row);
      if (rows.length < 100) return;
      below = rows[rows.length - 1]!.version;
    }
  }

  async getPromoted(task: string, options?: OperationOptions): Promise<ModelVersion | undefined> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkTask(task);
    const row = (await this.#busy(() => this.#promoted.get(task), options)) as VersionRow | undefined;
    return row === undefined ? undefined : toVersion(row);
  }

  async promote(task: string, version: number, options?: OperationOptions): Promise<ModelVersion> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkTask(task);
    checkVersionNumber(version);
    const tx = this.#db.transaction(() => {
      const target = this.#get.get(task, version) as VersionRow | undefined;
      if (target === undefined) throw notFound(`Model version '${task}@${version}' does not exist.`, 'model_version_not_found', 'version');
      if (target.state === 'promoted') return toVersion(target); // idempotent: a retried promote is a no-op
      const current = this.#promoted.get(task) as VersionRow | undefined;
      if (current) this.#write(current, 'retired');
      this.#push.run(task, task, version);
      return this.#write(target, 'promoted', this.#now().toISOString());
    });
    return this.#busy(() => tx.immediate(), options);
  }

  async rollback(task: string, options?: OperationOptions): Promise<ModelVersion> {
    this.#open();
    checkAbort(options?.abortSignal);
    checkTask(task);
    const tx = this.#db.transaction(() => {
      const current = this.#promoted.get(task) as VersionRow | undefined;
      if (current === undefined) throw nothingToRollBack(task);
      const stack = this.#stack.all(task) as { seq: number; version: number }[];
      // Pop entries of the current version (top), then the first earlier, different version wins.
      let i = 0;
      while (i < stack.length && stack[i]!.version === current.version) i++;
      const previous = stack[i];
      if (previous === undefined) throw nothingToRollBack(task);
      for (let k = 0; k < i; k++) this.#pop.run(task, stack[k]!.seq);
      const target = this.#get.get(task, previous.version) as VersionRow;
      this.#write(current, 'retired');
      return this.#write(target, 'promoted', this.#now().toISOString());
    });
    return this.#busy(() => tx.immediate(), options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #write(row: VersionRow, state: ModelVersion['state'], promotedAt?: string): ModelVersion {
    const record = JSON.parse(row.body) as ModelVersion;
    record.state = state;
    if (promotedAt !== undefined) record.promotedAt = promotedAt;
    const body = JSON.stringify(record);
    this.#setState.run(state, body, row.task, row.version);
    return { ...record, etag: String(row.row_version + 1) };
  }

  #open(): void {
    if (this.#closed) throw storeClosedError('SqliteModelRegistry');
  }

  #busy<T>(operation: () => T, options: OperationOptions | undefined): Promise<T> {
    return whileBusy(() => {
      this.#open();
      return operation();
    }, { name: 'SqliteModelRegistry', abortSignal: options?.abortSignal });
  }
}

function toVersion(row: VersionRow): ModelVersion {
  return { ...(JSON.parse(row.body) as ModelVersion), state: row.state, etag: String(row.row_version) };
}
