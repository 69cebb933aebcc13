import type { PairStore } from '../ports.js';
import type { PairRecord } from './pair-record.js';

// Writes pair records in the background so logging adds no latency to a response: `enqueue`
// returns at once; a drain loop sends batches to the store. A failed batch is retried with
// capped backoff and stays at the head of the queue, so records are written in order and none is
// dropped while memory allows. When the queue is full the oldest-first order is kept and
// `enqueue` reports the overflow to the caller instead of growing without bound (the durable
// outbox in src/adapters/local/ absorbs overflow when it is configured).

export interface PairWriterOptions {
  store: PairStore;
  maxBatchSize?: number;
  /** Records held in memory before enqueue refuses (the outbox takes over from there). */
  maxQueueLength?: number;
  /** Called when a batch fails (for metrics/logs; never with prompt text). */
  onError?: (err: unknown, batchSize: number) => void;
  /** Called when a record cannot be queued because the queue is full. */
  onOverflow?: (pair: PairRecord) => void;
  maxBackoffInMs?: number;
}

export class PairWriter {
  private readonly queue: PairRecord[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  private failures = 0;
  private readonly maxBatchSize: number;
  private readonly maxQueueLength: number;
  private readonly maxBackoffInMs: number;
  written = 0;

  constructor(private readonly options: PairWriterOptions) {
    this.maxBatchSize = options.maxBatchSize ?? 200;
    this.maxQueueLength = options.maxQueueLength ?? 50_000;
    this.maxBackoffInMs = options.maxBackoffInMs ?? 5_000;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Returns false when the record could not be accepted (queue full or writer closed). */
  enqueue(pair: PairRecord): boolean {
    if (this.closed || this.queue.length >= this.maxQueueLength) {
      this.options.onOverflow?.(pair);
      return false;
    }
    this.queue.push(pair);
    // Drain on a later tick: requests finishing in the same tick share a batch.
    this.draining ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => this.drain());
    return true;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, this.maxBatchSize);
        try {
          await this.options.store.upsertMany(batch);
          this.queue.splice(0, batch.length);
          this.written += batch.length;
          this.failures = 0;
        } catch (err) {
          this.failures++;
          this.options.onError?.(err, batch.length);
          const backoff = Math.min(this.maxBackoffInMs, 50 * 2 ** Math.min(this.failures, 10));
          await new Promise((r) => setTimeout(r, backoff * (0.5 + Math.random() / 2)));
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** Resolves when everything enqueued so far is in the store (retrying until it is). */
  async flush(): Promise<void> {
    while (this.draining || this.queue.length > 0) {
      if (!this.draining) this.draining = this.drain();
      await this.draining;
    }
    await this.options.store.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }
}
