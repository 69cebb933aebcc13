import { Worker } from 'node:worker_threads';
import { DistilleryError, invalidRequest } from '../../core/errors.js';
import type { PairQuery, PairRecord } from '../../core/pairs/pair-record.js';
import type { OperationOptions, PairStore } from '../../core/ports.js';
import { workerScript } from '../shared/worker-script.js';
import { checkAbort, storeClosedError } from './open-database.js';
import { deserializeError, type PairStoreAnswer, type PairStoreOp } from './pair-store-thread-messages.js';
import type { SqlitePairStoreOptions } from './sqlite-pair-store.js';

// The embedded PairStore as the server uses it: SqlitePairStore on a thread of its own, behind an
// async boundary with a bounded queue (DESIGN.md rule 14). better-sqlite3 is synchronous — every
// insert, JSON serialization and record check, and any wait for another process's write lock,
// would otherwise run on the serving thread and delay every response (issue #14 row 5; ~20% of
// the student-served path's serving thread in issue #19's profile). Here the serving thread only
// posts the records; beyond `maxPendingOperations` calls fail at once with a retryable 503, and a
// call the thread does not answer within `operationTimeoutInMs` fails the same way — the pair
// writer then spools to its outbox, so nothing waits and nothing is dropped.
//
// "Accepted" keeps its meaning: upsertMany resolves once the thread's transaction committed.

export interface ThreadedSqlitePairStoreOptions extends SqlitePairStoreOptions {
  /** Calls in flight to the SQLite thread; beyond, a retryable 503 at once. Default 256. */
  maxPendingOperations?: number;
  /** A call not answered in this time fails with a retryable 503 (its outcome is unknown: upserts are idempotent). Default 30 s. */
  operationTimeoutInMs?: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

const unavailable = (message: string, code: string) => new DistilleryError(`SqlitePairStore: ${message}`, { status: 503, type: 'server_error', code, retryable: true, retryAfterInSeconds: 1 });

export class ThreadedSqlitePairStore implements PairStore {
  readonly #options: SqlitePairStoreOptions;
  readonly #maxPending: number;
  readonly #timeoutInMs: number;
  readonly #pageSize: number;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 1;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: ThreadedSqlitePairStoreOptions) {
    const { maxPendingOperations, operationTimeoutInMs, ...storeOptions } = options;
    this.#options = storeOptions;
    this.#maxPending = Math.max(1, Math.floor(maxPendingOperations ?? 256));
    this.#timeoutInMs = Math.max(1, operationTimeoutInMs ?? 30_000);
    this.#pageSize = Math.max(1, Math.floor(options.pageSize ?? 500));
    // The thread starts with the first call: a process that never touches pairs (most CLI
    // commands) never pays for it.
  }

  /** Calls waiting for the SQLite thread. */
  get pendingOperations(): number {
    return this.#pending.size;
  }

  async upsert(pair: PairRecord, options?: OperationOptions): Promise<void> {
    await this.upsertMany([pair], options);
  }

  async upsertMany(pairs: readonly PairRecord[], options?: OperationOptions): Promise<void> {
    if (!Array.isArray(pairs)) {
      this.#checkOpen();
      throw invalidRequest('upsertMany expects an array of pair records.', 'pairs');
    }
    if (pairs.length === 0) {
      this.#checkOpen();
      return checkAbort(options?.abortSignal);
    }
    await this.#call('upsertMany', [pairs], options);
  }

  async get(task: string, tenant: string, id: string, options?: OperationOptions): Promise<PairRecord | undefined> {
    return (await this.#call('get', [task, tenant, id], options)) as PairRecord | undefined;
  }

  async *list(query: PairQuery, options?: OperationOptions): AsyncIterable<PairRecord> {
    const handle = (await this.#call('listOpen', [query], options)) as number;
    let done = false;
    try {
      while (!done) {
        const page = (await this.#call('listNext', [handle, this.#pageSize], options)) as { items: PairRecord[]; done: boolean };
        done = page.done;
        yield* page.items;
      }
    } finally {
      // A reader that stops early (break, abort, error) frees its cursor on the thread.
      if (!done && !this.#closed) void this.#call('listClose', [handle], undefined).catch(() => undefined);
    }
  }

  async getCounter(task: string, options?: OperationOptions): Promise<number> {
    return (await this.#call('getCounter', [task], options)) as number;
  }

  async flush(options?: OperationOptions): Promise<void> {
    await this.#call('flush', [], options);
  }

  async close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      const worker = this.#worker;
      if (!worker) return;
      // The thread finishes the writes it holds, then closes the database.
      await this.#post(worker, 'close', [], undefined).catch(() => undefined);
      this.#worker = undefined;
      await worker.terminate();
    })();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closed) throw storeClosedError('SqlitePairStore');
  }

  #start(): Worker {
    const spec = workerScript(import.meta.url, 'threaded-sqlite-pair-store-entry');
    const worker = new Worker(spec.script, { eval: spec.eval, workerData: this.#options });
    worker.unref();
    worker.on('message', (answer: PairStoreAnswer) => {
      const p = this.#pending.get(answer.id);
      if (!p) return; // timed out or aborted meanwhile
      p.cleanup();
      if (answer.ok) p.resolve(answer.value);
      else p.reject(deserializeError(answer.error));
    });
    // A thread that dies fails what it held (retryable: the writer spools) and is restarted on the next call.
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      for (const p of [...this.#pending.values()]) {
        p.cleanup();
        p.reject(unavailable(`the SQLite thread ${why}.`, 'store_unavailable'));
      }
    };
    worker.on('error', (err) => lost(`failed (${err.message})`));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
    this.#worker = worker;
    return worker;
  }

  #call(op: PairStoreOp, args: unknown[], options: OperationOptions | undefined): Promise<unknown> {
    try {
      this.#checkOpen();
      checkAbort(options?.abortSignal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#pending.size >= this.#maxPending) {
      return Promise.reject(unavailable(`${this.#pending.size} operations already wait for the SQLite thread.`, 'store_busy'));
    }
    return this.#post(this.#worker ?? this.#start(), op, args, options?.abortSignal);
  }

  #post(worker: Worker, op: PairStoreOp, args: unknown[], signal: AbortSignal | undefined): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        cleanup();
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(unavailable(`no answer from the SQLite thread within ${this.#timeoutInMs} ms (${op}).`, 'store_timeout'));
      }, this.#timeoutInMs);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
        // The process may exit while the thread idles; never while a caller waits for it.
        if (this.#pending.size === 0) worker.unref();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, { resolve, reject, cleanup });
      worker.ref();
      try {
        worker.postMessage({ id, op, args });
      } catch (err) {
        cleanup();
        // Structured clone refused it (a function, a symbol): the record cannot be stored.
        reject(invalidRequest(`Pair records are not serializable: ${(err as Error).message}`, 'pair'));
      }
    });
  }
}
