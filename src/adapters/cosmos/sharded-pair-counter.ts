import type { Container } from '@azure/cosmos';
import type { OperationOptions } from '../../core/ports.js';
import { cosmosFailure, statusOf, withCosmosRetry } from './cosmos-retry.js';

// The new-pair counter of a task (the threshold trigger reads it) as sharded documents in
// `pair-counters`, so no single document takes every instance's increments:
//
// - each store instance picks one shard (`pairs:<n>`, n < shardCount) at start and only ever
//   increments that one, so concurrent instances rarely touch the same document;
// - increments are already batched per instance: the store adds once per written batch (up to
//   maxBatchSize records), one batch at a time;
// - a read sums every shard in one single-partition query, including the unsharded `pairs`
//   document older versions wrote (type 'counter' too), so existing counts carry over.

export const DEFAULT_COUNTER_SHARDS = 16;
const LEGACY_COUNTER_ID = 'pairs';

export class ShardedPairCounter {
  readonly #counters: Container;
  readonly #maxAttempts: number;
  readonly #shardId: string;

  constructor(counters: Container, options: { shardCount?: number; maxAttempts: number; random?: () => number }) {
    const shards = Math.max(1, Math.floor(options.shardCount ?? DEFAULT_COUNTER_SHARDS));
    this.#counters = counters;
    this.#maxAttempts = options.maxAttempts;
    this.#shardId = `${LEGACY_COUNTER_ID}:${Math.floor((options.random ?? Math.random)() * shards) % shards}`;
  }

  /** The shard this instance increments. */
  get shardId(): string {
    return this.#shardId;
  }

  async add(task: string, n: number): Promise<void> {
    for (;;) {
      try {
        await withCosmosRetry(() => this.#counters.item(this.#shardId, task).patch([{ op: 'incr', path: '/count', value: n }]), {
          maxAttempts: this.#maxAttempts,
        });
        return;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
      try {
        await withCosmosRetry(() => this.#counters.items.create({ id: this.#shardId, task, type: 'counter', count: n }), {
          maxAttempts: this.#maxAttempts,
        });
        return;
      } catch (err) {
        if (statusOf(err) !== 409) throw err; // another writer created it first: increment instead
      }
    }
  }

  /** Sum over every shard (and the legacy document). */
  async read(task: string, options?: OperationOptions): Promise<number> {
    const iterator = this.#counters.items.query<{ count?: number }>(
      {
        query: 'SELECT * FROM c WHERE c.task = @task AND c.type = @type',
        parameters: [
          { name: '@task', value: task },
          { name: '@type', value: 'counter' },
        ],
      },
      { partitionKey: task, maxItemCount: 1_000, abortSignal: options?.abortSignal },
    );
    let sum = 0;
    try {
      while (iterator.hasMoreResults()) {
        const page = await withCosmosRetry(() => iterator.fetchNext(), { abortSignal: options?.abortSignal });
        for (const r of page.resources) sum += typeof r.count === 'number' ? r.count : 0;
      }
    } catch (err) {
      throw cosmosFailure('counter read', err);
    }
    return sum;
  }
}
