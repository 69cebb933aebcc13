import { describe, expect, it } from 'vitest';
import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import type { PairQuery, PairRecord } from '../../src/core/pairs/pair-record.js';
import type { OperationOptions, PairStore } from '../../src/core/ports.js';
import { ShadowSampleReader } from '../../src/core/routing/adaptive-shadow-sample.js';
import { AdaptiveShadowController } from '../../src/core/routing/adaptive-shadow-controller.js';
import { createLabelParser } from '../../src/core/tasks/classification-task.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { randomShadowPair } from '../fixtures/cascade-pairs.js';

// The adaptive shadow controller keeps running counts and reads only the pairs written since its
// last refresh (it used to list every pair since the promotion on each one), while pairs that land
// late (a slow shadow call, the outbox) are still counted, once.

/** The real SQLite store, counting the records its list() hands out. */
function countingStore(inner: SqlitePairStore): PairStore & { listed: number; queries: PairQuery[] } {
  const store = {
    listed: 0,
    queries: [] as PairQuery[],
    upsert: (p: PairRecord, o?: OperationOptions) => inner.upsert(p, o),
    upsertMany: (ps: readonly PairRecord[], o?: OperationOptions) => inner.upsertMany(ps, o),
    get: (task: string, tenant: string, id: string, o?: OperationOptions) => inner.get(task, tenant, id, o),
    getCounter: (task: string, o?: OperationOptions) => inner.getCounter(task, o),
    flush: (o?: OperationOptions) => inner.flush(o),
    close: () => inner.close(),
    async *list(q: PairQuery, o?: OperationOptions) {
      store.queries.push(q);
      for await (const p of inner.list(q, o)) {
        store.listed++;
        yield p;
      }
    },
  };
  return store;
}

const shadowPair = (id: string, model: string, agree: boolean, at: number) => randomShadowPair({ id, model, agree, confidence: 0.9, at });

const batch = (prefix: string, n: number, model: string, start: number, agree: (i: number) => boolean = () => true) =>
  Array.from({ length: n }, (_, i) => shadowPair(`${prefix}-${String(i).padStart(5, '0')}`, model, agree(i), start + i * 1000));

describe('adaptive shadow: incremental reading', () => {
  it('the second refresh reads only the pairs written since the first', async () => {
    const promotedAt = Date.UTC(2026, 0, 2);
    const registry = new SqliteModelRegistry({ path: ':memory:', now: () => new Date(promotedAt) });
    const inner = new SqlitePairStore({ path: ':memory:' });
    const pairs = countingStore(inner);
    const v = await registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'm', lineage: {} });
    await registry.promote('intents', v.version);
    const parseLabel = createLabelParser({ labels: ['a', 'b'], labelFormat: { type: 'label' } });
    const config = taskSchema.parse({ name: 'intents', teacher: 'teacher', routing: { policy: { type: 'cascade', threshold: 0.5, adaptiveShadow: { halfLifeInPairs: 100 } } } });
    let now = promotedAt + 1e7;
    const sample = new ShadowSampleReader({ registry, pairs, tasks: { get: () => ({ parseLabel }) }, clock: { now: () => now } });
    const controller = new AdaptiveShadowController({ registry, pairs, tasks: { get: () => ({ parseLabel }) }, clock: { now: () => now }, refreshInMs: 1000, sample });

    // Before the promotion, other versions: listed by the first read (same task), never counted.
    await pairs.upsertMany(batch('old', 100, v.id, promotedAt - 1e6));
    await pairs.upsertMany(batch('other', 300, 'intents@0', promotedAt));
    await pairs.upsertMany(batch('mine', 300, v.id, promotedAt, (i) => i % 50 !== 0));
    expect(await controller.rateFor(config, v.id)).toBeCloseTo(0.2 * 2 ** -3, 6); // first read: waits
    expect(pairs.queries[0]!.since).toBe(new Date(promotedAt).toISOString());
    expect(pairs.listed).toBe(600); // since the promotion: 300 of the other version + 300 of this one
    expect(sample.current('intents', v.id)).toMatchObject({ comparable: 300, agreements: 294, lastReadCount: 600 });

    // 50 new pairs; the next refresh lists those 50 and nothing before them.
    await pairs.upsertMany(batch('new', 50, v.id, promotedAt + 1e6));
    now += 2000;
    const before = pairs.listed;
    await controller.rateFor(config, v.id); // background refresh
    await expect.poll(() => sample.current('intents', v.id)?.comparable, { timeout: 10_000 }).toBe(350);
    expect(pairs.listed - before).toBe(50);
    expect(sample.current('intents', v.id)!.lastReadCount).toBe(50);
    // 350 pairs = 3.5 half-lives: 0.2 · 2^-3.5 is below the 2% floor.
    expect(controller.decisionFor('intents', v.id)).toMatchObject({ state: 'floor', rate: 0.02 });

    // A refresh with nothing new lists nothing.
    now += 2000;
    const idle = pairs.listed;
    await controller.rateFor(config, v.id);
    await expect.poll(() => sample.current('intents', v.id)?.readAt, { timeout: 10_000 }).toBe(now);
    expect(pairs.listed).toBe(idle);
    await pairs.close();
  });

  it('counts a pair that lands after a read but carries an earlier time, and each pair once', async () => {
    const promotedAt = Date.UTC(2026, 0, 2);
    const registry = new SqliteModelRegistry({ path: ':memory:', now: () => new Date(promotedAt) });
    const pairs = new SqlitePairStore({ path: ':memory:' });
    const v = await registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'm', lineage: {} });
    await registry.promote('intents', v.version);
    const config = taskSchema.parse({ name: 'intents', teacher: 'teacher', routing: { policy: { type: 'cascade', threshold: 0.5, adaptiveShadow: {} } } });
    let now = promotedAt + 1e7;
    const sample = new ShadowSampleReader({ registry, pairs, tasks: { get: () => undefined }, clock: { now: () => now }, lateArrivalInMs: 120_000 });

    // Ten pairs of the last minute, then one whose record lands late (written after the read, created before the newest).
    await pairs.upsertMany(batch('recent', 10, v.id, now - 60_000));
    expect((await sample.read(config, v.id)).comparable).toBe(10);
    await pairs.upsert(shadowPair('late', v.id, false, now - 70_000));
    now += 1000;
    const s = await sample.read(config, v.id);
    expect(s).toMatchObject({ comparable: 11, agreements: 10 });
    expect(s.lastReadCount).toBe(11); // the unsettled window again, deduplicated by id
    // Once the window has passed, reads start after the newest pair.
    now += 300_000;
    await pairs.upsertMany(batch('later', 5, v.id, now - 200_000));
    const t = await sample.read(config, v.id);
    expect(t).toMatchObject({ comparable: 16, lastReadCount: 5 });
    await pairs.close();
  });

  it('starts a new sample when the version is promoted again', async () => {
    let at = Date.UTC(2026, 0, 2);
    const registry = new SqliteModelRegistry({ path: ':memory:', now: () => new Date(at) });
    const pairs = new SqlitePairStore({ path: ':memory:' });
    const v1 = await registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'm1', lineage: {} });
    const v2 = await registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'm2', lineage: {} });
    await registry.promote('intents', v1.version);
    const config = taskSchema.parse({ name: 'intents', teacher: 'teacher', routing: { policy: { type: 'cascade', threshold: 0.5, adaptiveShadow: {} } } });
    let now = at + 1e7;
    const sample = new ShadowSampleReader({ registry, pairs, tasks: { get: () => undefined }, clock: { now: () => now } });
    await pairs.upsertMany(batch('first', 20, v1.id, at + 1000));
    expect((await sample.read(config, v1.id)).comparable).toBe(20);
    at += 1e6;
    await registry.promote('intents', v2.version);
    at += 1e6;
    await registry.rollback('intents');
    now += 1000;
    await pairs.upsertMany(batch('second', 5, v1.id, at + 1000));
    const s = await sample.read(config, v1.id);
    expect(s).toMatchObject({ comparable: 5, since: new Date(at).toISOString() });
    await pairs.close();
  });
});
