import Database from 'better-sqlite3';
import { DistilleryError } from '../../core/errors.js';

// One place that opens SQLite the way every embedded store wants it: WAL so readers never block
// the writer, a busy timeout so two processes sharing a file wait instead of failing, and
// synchronous=NORMAL (durable at checkpoints, safe against corruption) for write throughput.

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /** File path, or ':memory:' for a private in-memory database. */
  path: string;
  busyTimeoutInMs?: number;
}

export function openDatabase(options: OpenDatabaseOptions): SqliteDatabase {
  if (typeof options.path !== 'string' || options.path.length === 0) {
    throw new DistilleryError('SQLite path must be a non-empty string.', {
      status: 500,
      type: 'server_error',
      code: 'invalid_configuration',
    });
  }
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutInMs ?? 5_000))}`);
  return db;
}

export { storeClosedError } from '../shared/store-closed-error.js';

export function checkAbort(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}
