// Where a pair lives in the `pairs` container (/pk), so one busy task never sits in one logical
// partition (20 GB and 10,000 RU/s caps; see docs/capacity.md):
//
//   pk = `${task}|${tenant}|${yyyymmdd}|${h}`   h = fnv1a(id) mod bucketsPerDay
//
// - The day (UTC, from createdAt) bounds a partition's size by one day of traffic and lets a
//   time-range read visit only the days it asks for.
// - The hash suffix spreads one day's writes over `bucketsPerDay` partitions. It is derived from
//   the id, not drawn at random, so a retried or updated write of the same record lands in the
//   same partition (upsert stays idempotent) and a point read by id knows its bucket.
// - createdAt is the creation instant and must not change between versions of a record (a changed
//   day would leave the older version behind in another partition).
//
// On Azure, hierarchical partition keys (/task, /tenant, /bucket with bucket = `${yyyymmdd}|${h}`)
// serve the same paths with prefix queries routed by the service; the local test server does not
// implement them, so the adapter writes this synthetic key into /pk (the container definition is
// unchanged). Records written before this scheme have pk = `${task}|${tenant}` and are still read
// (legacyPartitionKey); docs/capacity.md has the migration.

// 32: at 1,000 requests/s of 2 KB pairs one task writes ~165 GB a day; 32 buckets keep each
// logical partition near 5 GB a day and ~190 RU/s (bench/capacity-model.ts, docs/capacity.md).
export const DEFAULT_BUCKETS_PER_DAY = 32;
export const MAX_BUCKETS_PER_DAY = 1024;

/** The key of records written before day buckets (one logical partition per task and tenant). */
export const legacyPartitionKey = (task: string, tenant: string): string => `${task}|${tenant}`;

/** `yyyymmdd` (UTC) of a canonical ISO time. */
export function dayOf(canonicalIso: string): string {
  return canonicalIso.slice(0, 10).replaceAll('-', '');
}

/** 32-bit FNV-1a of the UTF-16 code units: stable across processes and versions, cheap. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function bucketOf(id: string, bucketsPerDay: number): number {
  return fnv1a(id) % bucketsPerDay;
}

export function checkBucketsPerDay(value: number | undefined): number {
  const n = value ?? DEFAULT_BUCKETS_PER_DAY;
  if (!Number.isInteger(n) || n < 1 || n > MAX_BUCKETS_PER_DAY) {
    throw new RangeError(`bucketsPerDay must be an integer within 1..${MAX_BUCKETS_PER_DAY}, got ${String(value)}.`);
  }
  return n;
}

export function dayBucketKey(task: string, tenant: string, day: string, bucket: number): string {
  return `${task}|${tenant}|${day}|${bucket}`;
}

/** The partition key of a record created at `canonicalIso` with this id. */
export function pairPartitionKey(task: string, tenant: string, canonicalIso: string, id: string, bucketsPerDay: number): string {
  return dayBucketKey(task, tenant, dayOf(canonicalIso), bucketOf(id, bucketsPerDay));
}

/** Whether day `yyyymmdd` overlaps [since, until) (canonical ISO bounds, either open). */
export function dayOverlaps(day: string, since: string | undefined, until: string | undefined): boolean {
  const start = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00.000Z`;
  const next = new Date(Date.parse(start) + 86_400_000).toISOString();
  return (since === undefined || next > since) && (until === undefined || start < until);
}
