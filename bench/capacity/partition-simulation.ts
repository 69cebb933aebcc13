import { randomUUID } from 'node:crypto';
import { canonicalTime } from '../../src/adapters/shared/check-pair-record.js';
import { legacyPartitionKey, pairPartitionKey } from '../../src/adapters/cosmos/pair-partition-key.js';

// Runs the real partition-key function (pair-partition-key.ts) over synthetic traffic of one task
// and one tenant — the worst case, every request in one task — and reports how the writes of each
// day spread over logical partitions.

export interface SpreadResult {
  writes: number;
  days: number;
  partitions: number;
  /** Largest share of one day's writes that any single logical partition received. */
  maxShareOfDay: number;
  /** The same with the old key (pk = task|tenant). */
  legacyMaxShareOfDay: number;
}

export function simulateSpread(options: { writes: number; days: number; bucketsPerDay: number; start?: number }): SpreadResult {
  const start = options.start ?? Date.UTC(2026, 0, 1);
  const span = options.days * 86_400_000;
  const perKey = new Map<string, number>();
  const perDay = new Map<string, number>();
  for (let i = 0; i < options.writes; i++) {
    // Uniform arrival over the span; ids as the gateway makes them (random UUIDs).
    const ts = canonicalTime(new Date(start + Math.floor((i / options.writes) * span)).toISOString(), 'createdAt');
    const key = pairPartitionKey('intent', 'acme', ts, randomUUID(), options.bucketsPerDay);
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
    const day = ts.slice(0, 10);
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  let maxShareOfDay = 0;
  for (const [key, n] of perKey) {
    const day = key.split('|')[2]!;
    const dayTotal = perDay.get(`${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`)!;
    maxShareOfDay = Math.max(maxShareOfDay, n / dayTotal);
  }
  const legacy = new Set([legacyPartitionKey('intent', 'acme')]).size; // one key for everything
  return { writes: options.writes, days: perDay.size, partitions: perKey.size, maxShareOfDay, legacyMaxShareOfDay: 1 / legacy };
}
