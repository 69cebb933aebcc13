import { DistilleryError } from '../../core/errors.js';
import type { ApiKeyStore, StoredApiKey } from '../../core/keys/api-key-store.js';
import type { OperationOptions } from '../../core/ports.js';
import { checkAbort, openDatabase, storeClosedError, whileBusy, type SqliteDatabase } from './open-database.js';

// The embedded ApiKeyStore: one row per key in the same database file as pairs and jobs. The
// digest is the primary key (the authentication lookup); the id is unique (revocation by id).
// Authentication uses it on the serving thread: busy_timeout 0 and writes in whileBusy, so a lock
// held by another connection never blocks the event loop (WAL readers are never blocked).

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  sha256 TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  body TEXT NOT NULL
) WITHOUT ROWID;
`;

interface Row {
  last_used_at: string | null;
  body: string;
}

const fromRow = (row: Row): StoredApiKey => {
  const key = JSON.parse(row.body) as StoredApiKey;
  return row.last_used_at ? { ...key, lastUsedAt: row.last_used_at } : key;
};

export class SqliteApiKeyStore implements ApiKeyStore {
  readonly #db: SqliteDatabase;
  #closed = false;
  readonly #insert;
  readonly #byDigest;
  readonly #all;
  readonly #delete;
  readonly #touch;

  constructor(options: { path: string }) {
    // The schema is made at start, where waiting for a lock is fine; afterwards busy_timeout 0.
    this.#db = openDatabase({ path: options.path, busyTimeoutInMs: 0 });
    this.#db.exec(SCHEMA);
    this.#db.pragma('busy_timeout = 0');
    this.#insert = this.#db.prepare('INSERT INTO api_keys (sha256, id, created_at, body) VALUES (?, ?, ?, ?)');
    this.#byDigest = this.#db.prepare('SELECT last_used_at, body FROM api_keys WHERE sha256 = ?');
    this.#all = this.#db.prepare('SELECT last_used_at, body FROM api_keys ORDER BY created_at, id');
    this.#delete = this.#db.prepare('DELETE FROM api_keys WHERE id = ?');
    this.#touch = this.#db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
  }

  #open(options?: OperationOptions) {
    if (this.#closed) throw storeClosedError('SqliteApiKeyStore');
    checkAbort(options?.abortSignal);
  }

  async create(key: StoredApiKey, options?: OperationOptions): Promise<void> {
    this.#open(options);
    const { lastUsedAt: _l, ...body } = key;
    try {
      await whileBusy(() => this.#insert.run(key.sha256, key.id, key.createdAt, JSON.stringify(body)), { name: 'SqliteApiKeyStore' });
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        throw new DistilleryError(`A key with id '${key.id}' exists already.`, { status: 409, type: 'conflict_error', code: 'key_exists' });
      }
      throw err;
    }
  }

  async getByDigest(sha256: string, options?: OperationOptions): Promise<StoredApiKey | undefined> {
    this.#open(options);
    const row = this.#byDigest.get(sha256) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  async *list(options?: OperationOptions): AsyncIterable<StoredApiKey> {
    this.#open(options);
    for (const row of this.#all.all() as Row[]) yield fromRow(row);
  }

  async delete(id: string, options?: OperationOptions): Promise<boolean> {
    this.#open(options);
    return (await whileBusy(() => this.#delete.run(id), { name: 'SqliteApiKeyStore' })).changes > 0;
  }

  async touch(id: string, at: string, options?: OperationOptions): Promise<void> {
    this.#open(options);
    await whileBusy(() => this.#touch.run(at, id, at), { name: 'SqliteApiKeyStore' });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
