import type { Container } from '@azure/cosmos';
import type { OperationOptions } from '../../core/ports.js';
import { cosmosFailure, withCosmosRetry } from './cosmos-retry.js';
import { bucketOf, dayBucketKey, dayOf, dayOverlaps } from './pair-partition-key.js';

// The days (and bucket counts) a tenant of a task has pairs in, kept in `pair-counters` (partition
// /task) as one small document per task, tenant, day and bucket count. A read fans out over the
// buckets of these days only, within the asked range: never over days with no pair, never over the
// whole container. Each instance writes a day's document once (cached), before that day's pairs,
// so a list never misses a written pair. Recording the bucket count with the day keeps records
// readable after bucketsPerDay changes: a day is read over the largest count it was written with
// (h < N ≤ max N, so every key is covered).

interface DayDocument {
  id: string;
  task: string;
  type: 'day';
  tenant: string;
  day: string;
  buckets: number;
}

/** A day (`yyyymmdd`) and the bucket counts records were written with that day, largest first. */
export type DayBuckets = [day: string, bucketCounts: number[]];

export interface DayKeyed {
  task: string;
  tenant: string;
  ts: string;
}

const dayDocId = (tenant: string, day: string, buckets: number) => `day:${tenant}:${day}:${buckets}`;

export class PairDayIndex {
  readonly #counters: Container;
  readonly #maxAttempts: number;
  readonly #known = new Set<string>();

  constructor(counters: Container, maxAttempts: number) {
    this.#counters = counters;
    this.#maxAttempts = maxAttempts;
  }

  /** Records the days of these documents not yet recorded by this instance. */
  async record(docs: readonly DayKeyed[], bucketsPerDay: number): Promise<void> {
    const missing = new Map<string, DayDocument>();
    for (const d of docs) {
      const day = dayOf(d.ts);
      const cacheKey = `${d.task}\u0000${dayDocId(d.tenant, day, bucketsPerDay)}`;
      if (!this.#known.has(cacheKey)) {
        missing.set(cacheKey, { id: dayDocId(d.tenant, day, bucketsPerDay), task: d.task, type: 'day', tenant: d.tenant, day, buckets: bucketsPerDay });
      }
    }
    await Promise.all(
      [...missing].map(async ([cacheKey, doc]) => {
        await withCosmosRetry(() => this.#counters.items.upsert(doc), { maxAttempts: this.#maxAttempts });
        this.#known.add(cacheKey);
      }),
    );
  }

  /** Days of a tenant overlapping [since, until), ascending, each with the bucket counts written that day. */
  async days(task: string, tenant: string, since: string | undefined, until: string | undefined, options?: OperationOptions): Promise<DayBuckets[]> {
    const where = ['c.task = @task', 'c.type = @type', 'c.tenant = @tenant'];
    const parameters = [
      { name: '@task', value: task },
      { name: '@type', value: 'day' },
      { name: '@tenant', value: tenant },
    ];
    if (since !== undefined) {
      where.push('c.day >= @sinceDay');
      parameters.push({ name: '@sinceDay', value: dayOf(since) });
    }
    if (until !== undefined) {
      where.push('c.day <= @untilDay');
      parameters.push({ name: '@untilDay', value: dayOf(until) });
    }
    const iterator = this.#counters.items.query<DayDocument>(
      { query: `SELECT * FROM c WHERE ${where.join(' AND ')}`, parameters },
      { partitionKey: task, maxItemCount: 1_000, abortSignal: options?.abortSignal },
    );
    const byDay = new Map<string, Set<number>>();
    try {
      while (iterator.hasMoreResults()) {
        const page = await withCosmosRetry(() => iterator.fetchNext(), { abortSignal: options?.abortSignal });
        for (const d of page.resources) {
          if (dayOverlaps(d.day, since, until)) byDay.set(d.day, (byDay.get(d.day) ?? new Set<number>()).add(d.buckets));
        }
      }
    } catch (err) {
      throw cosmosFailure('pair day query', err);
    }
    return [...byDay]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([day, counts]) => [day, [...counts].sort((a, b) => b - a)]);
  }
}

/**
 * The partition keys each merged stream of a list reads, in order: stream h concatenates bucket h
 * of every day (days ascending, and a day's records lie within that day), so each stream is in
 * time order and a k-way merge of the streams is too.
 */
export function bucketStreamPlan(task: string, tenant: string, days: readonly DayBuckets[]): string[][] {
  const widest = days.reduce((m, [, counts]) => Math.max(m, ...counts), 0);
  return Array.from({ length: widest }, (_, h) =>
    days.filter(([, counts]) => h < Math.max(...counts)).map(([day]) => dayBucketKey(task, tenant, day, h)),
  );
}

/** Partition keys a record with this id may be in, newest day first (a point read tries each). */
export function pointReadKeys(task: string, tenant: string, id: string, days: readonly DayBuckets[]): string[] {
  const keys = [...days].reverse().flatMap(([day, counts]) => counts.map((n) => dayBucketKey(task, tenant, day, bucketOf(id, n))));
  return [...new Set(keys)];
}
