import type { PairSpool, PairStore } from '../ports.js';
import type { PairRecord } from './pair-record.js';

// Writes pair records in the background so logging adds no latency to a response: `enqueue`
// returns at once and a drain loop sends batches to the store.
//
// When the store fails or throttles, the records go to a durable spool (an outbox) and are
// replayed from it, oldest first, once the store answers again: memory stays bounded whatever the
// outage, a clean shutdown flushes what it can and spools the rest, and a crash loses nothing
// that reached the spool. Order is kept by one rule: while the spool holds anything, new records
// are appended behind it instead of jumping ahead in memory. Replays are safe because stores
// upsert whole records by id.

export interface PairWriterOptions {
  store: PairStore;
  spool?: PairSpool;
  maxBatchSize?: number;
  /** Records held in memory; beyond this they go to the spool (or are refused without one). */
  maxQueueLength?: number;
  /** Called when a write fails (for metrics/logs; never with prompt text). */
  onError?: (err: unknown, batchSize: number) => void;
  /** Called when a record is refused: queue full and no spool, or the writer is closed. */
  onOverflow?: (pair: PairRecord) => void;
  maxBackoffInMs?: number;
  /**
   * How long a record may wait for others to share its batch (one store round trip for many
   * records instead of one each). Default 10 ms; a full batch goes at once.
   */
  batchDelayInMs?: number;
}

export class PairWriter {
  private queue: PairRecord[] = [];
  private draining: Promise<void> | undefined;
  private scheduled = false;
  private closed = false;
  /** After close(): no more background work, whatever is left stays in the spool. */
  private stopped = false;
  private failures = 0;
  private readonly maxBatchSize: number;
  private readonly maxQueueLength: number;
  private readonly maxBackoffInMs: number;
  private readonly batchDelayInMs: number;
  /** Records written to the store. */
  written = 0;
  /** Records that went through the spool. */
  spooled = 0;
  /** Records refused (no spool and memory full, or closed). */
  refused = 0;

  constructor(private readonly options: PairWriterOptions) {
    this.maxBatchSize = options.maxBatchSize ?? 64;
    this.maxQueueLength = options.maxQueueLength ?? 10_000;
    this.maxBackoffInMs = options.maxBackoffInMs ?? 2_000;
    this.batchDelayInMs = options.batchDelayInMs ?? 10;
  }

  /** Records accepted but not yet in the store (memory and spool). */
  get pending(): number {
    return this.queue.length + (this.options.spool?.size() ?? 0);
  }

  /** Returns false when the record could not be accepted. */
  enqueue(pair: PairRecord): boolean {
    if (this.closed || (this.queue.length >= this.maxQueueLength && !this.options.spool)) {
      this.refused++;
      this.options.onOverflow?.(pair);
      return false;
    }
    this.queue.push(pair);
    // Memory is bounded even while the drain waits out a failing store: past the bound the
    // records go to the spool now, in order, behind what is already there.
    if (this.options.spool && this.queue.length >= this.maxQueueLength && (this.failures > 0 || this.options.spool.size() > 0)) {
      void this.spill().catch((err) => this.options.onError?.(err, 0));
    }
    this.schedule();
    return true;
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
        .catch((err) => this.options.onError?.(err, 0))
        .finally(() => {
          this.draining = undefined;
          if (this.queue.length > 0 || (this.options.spool?.size() ?? 0) > 0) this.schedule();
        });
    }, delay);
  }

  private async backoff() {
    this.failures++;
    const ms = Math.min(this.maxBackoffInMs, 25 * 2 ** Math.min(this.failures, 10));
    await new Promise((r) => setTimeout(r, ms * (0.5 + Math.random() / 2)));
  }

  private async drain(): Promise<void> {
    const spool = this.options.spool;
    for (;;) {
      // The spool holds the oldest records: replay it first.
      if (spool && spool.size() > 0) {
        // Newer records wait behind the spool, durably, so order holds and memory stays small.
        if (this.queue.length > 0) await this.spill();
        const batch = await spool.peek();
        if (!batch) continue;
        try {
          await this.options.store.upsertMany(batch.pairs);
          await spool.remove(batch.id);
          this.written += batch.pairs.length;
          this.failures = 0;
        } catch (err) {
          this.options.onError?.(err, batch.pairs.length);
          if (this.closed) return;
          await this.backoff();
        }
        continue;
      }
      if (this.queue.length === 0) return;
      const batch = this.queue.slice(0, this.maxBatchSize);
      try {
        await this.options.store.upsertMany(batch);
        this.queue.splice(0, batch.length);
        this.written += batch.length;
        this.failures = 0;
      } catch (err) {
        this.options.onError?.(err, batch.length);
        if (spool) await this.spill();
        else if (this.closed) return;
        else await this.backoff();
      }
    }
  }

  /** Moves everything in memory to the spool, in order. */
  private async spill() {
    const spool = this.options.spool!;
    const moving = this.queue;
    this.queue = [];
    for (let i = 0; i < moving.length; i += this.maxBatchSize) {
      await spool.append(moving.slice(i, i + this.maxBatchSize));
    }
    this.spooled += moving.length;
  }

  /**
   * Resolves when everything enqueued so far is in the store. With `deadlineInMs`, gives up at
   * the deadline and spools what is left (if there is a spool) so nothing accepted is lost.
   */
  async flush(options: { deadlineInMs?: number } = {}): Promise<void> {
    const deadline = options.deadlineInMs === undefined ? Infinity : Date.now() + options.deadlineInMs;
    while (this.queue.length > 0 || this.scheduled || this.draining || (this.options.spool?.size() ?? 0) > 0) {
      if (Date.now() >= deadline) {
        if (this.options.spool && this.queue.length > 0) await this.spill();
        return;
      }
      if (!this.draining && !this.scheduled) this.schedule();
      if (this.stopped) return;
      await Promise.race([
        this.draining ?? new Promise((r) => setTimeout(r, 1)),
        new Promise((r) => setTimeout(r, Math.max(1, Math.min(100, deadline - Date.now())))),
      ]);
    }
    await this.options.store.flush();
  }

  /** Refuses new records, writes what it can within the deadline, spools the rest. */
  async close(options: { deadlineInMs?: number } = { deadlineInMs: 10_000 }): Promise<void> {
    this.closed = true;
    try {
      await this.flush(options);
    } finally {
      this.stopped = true;
      await this.draining;
    }
  }
}
