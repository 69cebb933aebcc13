import type { PairSpool, PairStore } from '../ports.js';
import type { PairRecord } from './pair-record.js';

// Writes pair records in the background so logging adds no latency to a response: `enqueue`
// returns at once and a drain loop sends batches to the store.
//
// When the store fails or throttles, the records go to a durable spool (an outbox) and are
// replayed from it, oldest first, once the store answers again. Order is kept by one rule: while
// the spool holds anything, new records are appended behind it instead of jumping ahead in memory.
// Replays are safe because stores upsert whole records by id.
//
// Nothing is dropped unseen. A record leaves memory only once the store or the spool has taken
// it, so when both fail (a full disk) records stay in the bounded memory queue; when that is full,
// new records are refused, counted and reported (onOverflow, health()).
//
// Durability (the crash window): `batched` holds a record in memory until its batch is written
// (≤ batchDelayInMs plus one store round trip after enqueue); `write-ahead` appends every record
// to the spool first (one fsync per group of records), and `expect()` lets the response wait for it.

export type PairDurability = 'batched' | 'write-ahead';

export type PairWriteStage = 'store' | 'spool' | 'rejected';

export interface PairWriterOptions {
  store: PairStore;
  spool?: PairSpool;
  maxBatchSize?: number;
  /** Records held in memory; beyond this they are refused (and counted). */
  maxQueueLength?: number;
  /** Called when a write fails (for metrics/logs; never with prompt text). */
  onError?: (err: unknown, batchSize: number, stage: PairWriteStage) => void;
  /** Called when a record is refused: memory full, or the writer is closed. */
  onOverflow?: (pair: PairRecord) => void;
  maxBackoffInMs?: number;
  /**
   * How long a record may wait for others to share its batch (one store round trip for many
   * records instead of one each). Default 10 ms; a full batch goes at once.
   */
  batchDelayInMs?: number;
  /** `write-ahead` needs a spool. Default `batched`. */
  durability?: PairDurability;
  /** How long an expected record is waited for (a response in write-ahead mode, a shutdown). */
  expectTimeoutInMs?: number;
  /** How long health() stays degraded after a refusal or a failed spool append. */
  degradedHoldInMs?: number;
  now?: () => number;
}

export interface PairWriterHealth {
  status: 'ok' | 'degraded';
  reasons: string[];
  queued: number;
  spooled: number;
  refused: number;
  spoolFailures: number;
  rejected: number;
}

/** A response's claim on its pair record (see PairWriter.expect). */
export interface PairTicket {
  /** Resolves true once the record is safe for the writer's durability mode; false if it never came or failed. */
  readonly settled: Promise<boolean>;
  /** No record will come (store: false, a failed request): stop waiting for one. */
  cancel(): void;
}

interface Expectation {
  id: string;
  resolve: (ok: boolean) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class PairWriter {
  private queue: PairRecord[] = [];
  private draining: Promise<void> | undefined;
  private spilling: Promise<void> | undefined;
  /** A store write of the queue's head is in flight: a spill must not take the same records. */
  private writingHead: Promise<void> | undefined;
  private scheduled = false;
  private closed = false;
  /** After close(): no more background work, whatever is left stays in the spool. */
  private stopped = false;
  private failures = 0;
  private lastTroubleAt = -Infinity;
  private spoolFailing = false;
  private readonly expected = new Map<string, Expectation[]>();
  private readonly durableWaiters = new Map<PairRecord, (ok: boolean) => void>();
  private expectedDrained: (() => void) | undefined;
  private readonly maxBatchSize: number;
  private readonly maxQueueLength: number;
  private readonly maxBackoffInMs: number;
  private readonly batchDelayInMs: number;
  private readonly writeAhead: boolean;
  private readonly now: () => number;
  /** Records written to the store. */
  written = 0;
  /** Records that went through the spool. */
  spooled = 0;
  /** Records refused (memory full, or closed). */
  refused = 0;
  /** Spool appends that failed (their records stayed in memory). */
  spoolFailures = 0;
  /** Records the store refused for good (a non-retryable 4xx): dropped, counted and reported. */
  rejected = 0;
  /** Expected records that did not become safe in time (write-ahead responses that did not wait). */
  expectTimeouts = 0;

  constructor(private readonly options: PairWriterOptions) {
    this.maxBatchSize = options.maxBatchSize ?? 64;
    this.maxQueueLength = options.maxQueueLength ?? 10_000;
    this.maxBackoffInMs = options.maxBackoffInMs ?? 2_000;
    this.batchDelayInMs = options.batchDelayInMs ?? 10;
    this.writeAhead = options.durability === 'write-ahead';
    if (this.writeAhead && !options.spool) throw new Error('PairWriter: write-ahead durability needs a spool.');
    this.now = options.now ?? Date.now;
  }

  get durability(): PairDurability {
    return this.writeAhead ? 'write-ahead' : 'batched';
  }

  /** Records accepted but not yet in the store (memory and spool). */
  get pending(): number {
    return this.queue.length + (this.options.spool?.size() ?? 0);
  }

  /** Returns false when the record could not be accepted (counted in `refused`). */
  enqueue(pair: PairRecord): boolean {
    const ticket = this.claimExpectation(pair.id);
    if (this.closed || this.queue.length >= this.maxQueueLength) {
      this.refused++;
      this.lastTroubleAt = this.now();
      ticket?.resolve(false);
      this.options.onOverflow?.(pair);
      return false;
    }
    this.queue.push(pair);
    if (ticket) {
      if (this.writeAhead) this.durableWaiters.set(pair, ticket.resolve);
      else ticket.resolve(true);
    }
    this.kickSpill();
    this.schedule();
    return true;
  }

  /**
   * Announces that a record with this id will be enqueued (a response is being answered). Its
   * ticket settles when the record is safe: in memory (`batched`) or in the spool (`write-ahead`).
   * close() waits for announced records, so a shutdown does not refuse pairs still being built.
   */
  expect(id: string, timeoutInMs = this.options.expectTimeoutInMs ?? 30_000): PairTicket {
    let entry!: Expectation;
    const settled = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.expectTimeouts++;
        finish(false);
      }, timeoutInMs);
      (timer as { unref?: () => void }).unref?.();
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.dropExpectation(entry);
        resolve(ok);
      };
      entry = { id, resolve: finish, timer };
    });
    const list = this.expected.get(id);
    if (list) list.push(entry);
    else this.expected.set(id, [entry]);
    return { settled, cancel: () => this.expected.get(id)?.includes(entry) && entry.resolve(false) };
  }

  private claimExpectation(id: string): Expectation | undefined {
    const entry = this.expected.get(id)?.[0];
    if (entry) this.dropExpectation(entry);
    return entry;
  }

  private dropExpectation(entry: Expectation) {
    const list = this.expected.get(entry.id);
    const i = list?.indexOf(entry) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.expected.delete(entry.id);
    if (this.expected.size === 0) this.expectedDrained?.();
  }

  private settleDurable(pairs: readonly PairRecord[], ok: boolean) {
    if (this.durableWaiters.size === 0) return;
    for (const p of pairs) {
      const resolve = this.durableWaiters.get(p);
      if (resolve) {
        this.durableWaiters.delete(p);
        resolve(ok);
      }
    }
  }

  health(): PairWriterHealth {
    const reasons: string[] = [];
    if (this.queue.length >= this.maxQueueLength) reasons.push('pair queue full: new records are refused');
    if (this.now() - this.lastTroubleAt < (this.options.degradedHoldInMs ?? 60_000)) reasons.push('pair records refused or not spooled recently');
    if (this.spoolFailing) reasons.push('pair outbox appends failing: records held in memory');
    if (this.failures > 0) reasons.push('pair store writes failing');
    return {
      status: reasons.length ? 'degraded' : 'ok',
      reasons,
      queued: this.queue.length,
      spooled: this.options.spool?.size() ?? 0,
      refused: this.refused,
      spoolFailures: this.spoolFailures,
      rejected: this.rejected,
    };
  }

  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDelay = 0;

  private schedule() {
    if (this.stopped || this.draining) return;
    // Drain a little later so requests finishing meanwhile share the batch; a full batch goes now.
    const delay = this.queue.length >= this.maxBatchSize ? 0 : this.batchDelayInMs;
    if (this.scheduled) {
      if (delay >= this.timerDelay) return;
      clearTimeout(this.timer);
    }
    this.scheduled = true;
    this.timerDelay = delay;
    this.timer = setTimeout(() => {
      this.scheduled = false;
      this.draining = this.drain()
        .catch((err) => this.options.onError?.(err, 0, 'store'))
        .finally(() => {
          this.draining = undefined;
          if (this.queue.length > 0 || (this.options.spool?.size() ?? 0) > 0) this.schedule();
        });
    }, delay);
  }

  /** Starts a spill from enqueue: write-ahead always; otherwise once the store is failing. */
  private kickSpill() {
    const spool = this.options.spool;
    if (!spool || this.writingHead !== undefined || this.stopped) return;
    const storeTrouble = this.failures > 0 || spool.size() > 0;
    if (this.writeAhead || (storeTrouble && this.queue.length >= this.maxBatchSize)) void this.spill().catch(() => undefined);
  }

  private async backoff() {
    this.failures++;
    const ms = Math.min(this.maxBackoffInMs, 25 * 2 ** Math.min(this.failures, 10));
    await new Promise((r) => setTimeout(r, ms * (0.5 + Math.random() / 2)));
  }

  private async drain(): Promise<void> {
    const spool = this.options.spool;
    for (;;) {
      if (this.stopped) return;
      let spillFailed = false;
      // Records go behind the spool while it holds anything (order), or first of all (write-ahead).
      if (spool && this.queue.length > 0 && (this.writeAhead || spool.size() > 0)) {
        spillFailed = await this.spill().then(
          () => false,
          () => true,
        );
      }
      if (spool && spool.size() > 0) {
        // The spool holds the oldest records: replay it first (this also frees the disk).
        if (!(await this.replayOne(spool))) {
          if (this.closed) return;
          await this.backoff();
        }
        continue;
      }
      if (this.queue.length === 0) return;
      if (await this.writeHead()) continue;
      // The store failed: keep the records durable in the outbox while it is down.
      if (spool && !spillFailed && (await this.spill().then(() => true, () => false))) continue;
      if (this.closed) return;
      await this.backoff();
    }
  }

  /** Writes the oldest spooled batch to the store; false when the store failed. */
  private async replayOne(spool: PairSpool): Promise<boolean> {
    const batch = await spool.peek();
    if (!batch) return true;
    try {
      await this.options.store.upsertMany(batch.pairs);
      this.written += batch.pairs.length;
      this.failures = 0;
    } catch (err) {
      if (!isPermanent(err)) {
        this.options.onError?.(err, batch.pairs.length, 'store');
        return false;
      }
      this.reject(err, batch.pairs);
    }
    await spool.remove(batch.id);
    return true;
  }

  /** Writes the head of the memory queue to the store; records leave memory only once written. */
  private async writeHead(): Promise<boolean> {
    while (this.spilling) await this.spilling.catch(() => undefined);
    const batch = this.queue.slice(0, this.maxBatchSize);
    if (batch.length === 0) return true;
    let release!: () => void;
    this.writingHead = new Promise<void>((r) => (release = r));
    try {
      await this.options.store.upsertMany(batch);
      this.written += batch.length;
      this.failures = 0;
    } catch (err) {
      if (!isPermanent(err)) {
        this.options.onError?.(err, batch.length, 'store');
        return false;
      }
      this.reject(err, batch);
    } finally {
      this.writingHead = undefined;
      release();
    }
    this.queue.splice(0, batch.length);
    this.settleDurable(batch, true);
    return true;
  }

  /** A record the store will never take (invalid, too large): retrying would block everything behind it. */
  private reject(err: unknown, pairs: readonly PairRecord[]) {
    this.rejected += pairs.length;
    this.lastTroubleAt = this.now();
    this.options.onError?.(err, pairs.length, 'rejected');
  }

  /** Moves the memory queue to the spool in order; one spill at a time. Rejects when an append fails. */
  private spill(): Promise<void> {
    this.spilling ??= this.spillNow().finally(() => {
      this.spilling = undefined;
    });
    return this.spilling;
  }

  private async spillNow(): Promise<void> {
    const spool = this.options.spool!;
    while (this.writingHead) await this.writingHead;
    while (this.queue.length > 0) {
      const chunk = this.queue.slice(0, this.maxBatchSize);
      try {
        await spool.append(chunk);
      } catch (err) {
        // The records stay at the head of the queue: nothing leaves memory before the disk has it.
        this.spoolFailures++;
        this.spoolFailing = true;
        this.lastTroubleAt = this.now();
        this.options.onError?.(err, chunk.length, 'spool');
        this.settleDurable(chunk, false);
        throw err;
      }
      this.spoolFailing = false;
      this.queue.splice(0, chunk.length);
      this.spooled += chunk.length;
      this.settleDurable(chunk, true);
    }
  }

  /**
   * Resolves when everything enqueued so far is in the store. With `deadlineInMs`, gives up at
   * the deadline and spools what is left (if there is a spool and it takes it).
   */
  async flush(options: { deadlineInMs?: number } = {}): Promise<void> {
    const deadline = options.deadlineInMs === undefined ? Infinity : Date.now() + options.deadlineInMs;
    while (this.queue.length > 0 || this.scheduled || this.draining || this.spilling || (this.options.spool?.size() ?? 0) > 0) {
      if (Date.now() >= deadline) {
        if (this.options.spool && this.queue.length > 0) await this.spill().catch(() => undefined);
        return;
      }
      if (!this.draining && !this.scheduled) this.schedule();
      if (this.stopped) return;
      await Promise.race([
        this.draining ?? this.spilling ?? new Promise((r) => setTimeout(r, 1)),
        new Promise((r) => setTimeout(r, Math.max(1, Math.min(100, deadline - Date.now())))),
      ]);
    }
    await this.options.store.flush();
  }

  /**
   * Waits (within the first half of the deadline) for records announced with expect() — pairs of
   * answered responses still being built — then refuses new records, writes what it can within
   * the deadline and spools the rest.
   */
  async close(options: { deadlineInMs?: number } = { deadlineInMs: 10_000 }): Promise<void> {
    const total = options.deadlineInMs ?? 10_000;
    const deadline = Date.now() + total;
    if (this.expected.size > 0) {
      await Promise.race([
        new Promise<void>((r) => (this.expectedDrained = r)),
        new Promise((r) => setTimeout(r, total / 2)),
      ]);
    }
    this.closed = true;
    try {
      await this.flush({ deadlineInMs: Math.max(0, deadline - Date.now()) });
    } finally {
      this.stopped = true;
      await this.draining;
      for (const list of [...this.expected.values()]) for (const e of [...list]) e.resolve(false);
      this.settleDurable([...this.durableWaiters.keys()], false);
    }
  }
}

/** A refusal the store will repeat forever (a 4xx that is not a throttle or a conflict). */
function isPermanent(err: unknown): boolean {
  const e = err as { status?: unknown; retryable?: unknown };
  return e?.retryable === false && typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;
}
