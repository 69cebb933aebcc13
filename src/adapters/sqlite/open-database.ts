import Database from 'better-sqlite3';
import { DistilleryError } from '../../core/errors.js';
import { abortableSleep, backoffDelayInMs } from '../../core/retry.js';

// One place that opens SQLite the way every embedded store wants it: WAL so readers never block
// the writer, and synchronous=NORMAL (durable at checkpoints, safe against corruption) for write
// throughput.
//
// Waiting for another connection's write lock: better-sqlite3 is synchronous, so SQLite's own
// busy time-out would sleep on the calling thread — on the serving thread, every response waits
// (issue #14 row 5). Stores used there open with busy_timeout 0 and wrap writes in `whileBusy`,
// which retries SQLITE_BUSY with an async back-off (the event loop keeps serving) until a
// deadline, then fails with a retryable 503 (the pair writer spools to its outbox on it).

export type SqliteDatabase = Database.Database;
export type Transaction<F extends (...args: any[]) => unknown> = Database.Transaction<F>;

export interface OpenDatabaseOptions {
  /** File path, or ':memory:' for a private in-memory database. */
  path: string;
  /** SQLite's own (blocking) busy wait; 0 on connections the serving thread uses (see whileBusy). */
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

/** How long a write waits for another connection's lock before it fails with a retryable 503. */
export const DEFAULT_BUSY_DEADLINE_IN_MS = 2_000;

export interface BusyOptions {
  /** Store name for the error message. */
  name: string;
  deadlineInMs?: number;
  abortSignal?: AbortSignal;
}

/** SQLITE_BUSY (and its extended codes): another connection holds the lock; trying again later may work. */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export function storeBusyError(name: string, waitedInMs: number, cause?: unknown): DistilleryError {
  return new DistilleryError(`${name}: the SQLite database stayed locked by another connection for ${Math.round(waitedInMs)} ms.`, {
    status: 503,
    type: 'server_error',
    code: 'store_busy',
    retryable: true,
    retryAfterInSeconds: 1,
    cause,
  });
}

/**
 * Runs a synchronous SQLite operation (a statement, or a whole transaction that rolls back when
 * it throws) and, while another connection holds the lock, runs it again after an async back-off
 * — never a blocking wait — until the deadline; then a retryable 503 `store_busy`.
 */
export async function whileBusy<T>(operation: () => T, options: BusyOptions): Promise<T> {
  const deadlineInMs = options.deadlineInMs ?? DEFAULT_BUSY_DEADLINE_IN_MS;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    checkAbort(options.abortSignal);
    try {
      return operation();
    } catch (err) {
      if (!isBusyError(err)) throw err;
      const left = deadlineInMs - (Date.now() - started);
      if (left <= 0) throw storeBusyError(options.name, Date.now() - started, err);
      await abortableSleep(Math.min(left, backoffDelayInMs(attempt, { baseDelayInMs: 4, maxDelayInMs: 100 })), options.abortSignal);
    }
  }
}

export { storeClosedError } from '../shared/store-closed-error.js';

export function checkAbort(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}
