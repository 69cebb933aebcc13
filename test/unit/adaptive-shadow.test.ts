import { describe, expect, it } from 'vitest';
import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { adaptiveShadowRate, adaptiveShadowSchema, DEFAULT_ADAPTIVE_SHADOW } from '../../src/core/routing/adaptive-shadow.js';
import { AdaptiveShadowController } from '../../src/core/routing/adaptive-shadow-controller.js';
import { decideRoute } from '../../src/core/routing/decide-route.js';
import { routingSchema } from '../../src/core/routing/policy-schema.js';
import { createLabelParser } from '../../src/core/tasks/classification-task.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { randomShadowPair } from '../fixtures/cascade-pairs.js';

// Adaptive shadowing: the pure decision, and the controller reading a promoted version's random
// shadow pairs from a real (SQLite) pair store, as the canary does.

const s = DEFAULT_ADAPTIVE_SHADOW;

describe('adaptiveShadowRate', () => {
  it('starts high after a promotion, decays while the bound holds, stops at the floor', () => {
    expect(adaptiveShadowRate(s, { comparable: 0, agreements: 0 })).toMatchObject({ rate: 0.2, state: 'warming_up' });
    const rates = [50, 200, 400, 600].map((n) => adaptiveShadowRate(s, { comparable: n, agreements: Math.round(n * 0.97) }).rate);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThan(rates[i - 1]!);
    expect(rates[1]).toBeCloseTo(0.1, 5); // one half-life
    expect(adaptiveShadowRate(s, { comparable: 5000, agreements: 4850 })).toMatchObject({ rate: 0.02, state: 'floor' });
  });

  it('stays high while the lower bound of agreement is below the floor', () => {
    expect(adaptiveShadowRate(s, { comparable: 1000, agreements: 880 })).toMatchObject({ rate: 0.2, state: 'bound_not_met' });
  });

  it('jumps back to the start rate on drift in the recent window', () => {
    const d = adaptiveShadowRate(s, { comparable: 5000, agreements: 4800, recent: { comparable: 200, agreements: 150 } });
    expect(d).toMatchObject({ rate: 0.2, state: 'drift' });
  });

  it('is configurable and validated', () => {
    expect(adaptiveShadowRate(adaptiveShadowSchema.parse({ startRate: 0.5, floorRate: 0.01 }), { comparable: 10_000, agreements: 10_000 }).rate).toBe(0.01);
    expect(adaptiveShadowSchema.safeParse({ startRate: 0.01, floorRate: 0.05 }).success).toBe(false);
  });

  it('replaces the fixed shadowSampleRate in the router', () => {
    const routing = routingSchema.parse({ policy: { type: 'cascade', threshold: 0.5, shadowSampleRate: 0.2, adaptiveShadow: {} } });
    expect(decideRoute(routing, { studentAvailable: true, shadowRate: 0.02 }, () => 0.05).shadow).toBeUndefined();
    expect(decideRoute(routing, { studentAvailable: true, shadowRate: 0.02 }, () => 0.01).shadow).toBe('teacher');
  });
});

const shadowPair = (i: number, model: string, agree: boolean, at: number) =>
  randomShadowPair({ id: `p-${String(i).padStart(6, '0')}`, model, agree, at: at + i * 1000 });

describe('AdaptiveShadowController', () => {
  it("reads the promoted version's random-shadow agreement since its promotion", async () => {
    const promotedAt = Date.UTC(2026, 0, 2);
    const registry = new SqliteModelRegistry({ path: ':memory:', now: () => new Date(promotedAt) });
    const pairs = new SqlitePairStore({ path: ':memory:' });
    const v = await registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'm', lineage: {} });
    await registry.promote('intents', v.version);
    const parseLabel = createLabelParser({ labels: ['a', 'b'], labelFormat: { type: 'label' } });
    const config = taskSchema.parse({
      name: 'intents',
      teacher: 'teacher',
      routing: { policy: { type: 'cascade', threshold: 0.5, adaptiveShadow: { halfLifeInPairs: 100 } } },
    });
    let now = promotedAt + 1e7;
    const controller = new AdaptiveShadowController({ registry, pairs, tasks: { get: () => ({ parseLabel }) }, clock: { now: () => now }, refreshInMs: 1000 });
    expect(await controller.rateFor(config, v.id)).toBe(0.2);
    // Pairs before the promotion and of other versions do not count.
    await pairs.upsertMany(Array.from({ length: 100 }, (_, i) => shadowPair(i, v.id, true, promotedAt - 1e6)));
    await pairs.upsertMany(Array.from({ length: 300 }, (_, i) => shadowPair(1000 + i, 'intents@0', true, promotedAt)));
    await pairs.upsertMany(Array.from({ length: 300 }, (_, i) => shadowPair(2000 + i, v.id, i % 50 !== 0, promotedAt)));
    now += 2000;
    await controller.rateFor(config, v.id); // starts the background refresh
    await expect.poll(() => controller.decisionFor('intents', v.id)?.state, { timeout: 10_000 }).toBe('decaying');
    expect(await controller.rateFor(config, v.id)).toBeCloseTo(0.2 * 2 ** -3, 6);
    // Drift: the last 200 shadow pairs agree 60% of the time.
    await pairs.upsertMany(Array.from({ length: 200 }, (_, i) => shadowPair(3000 + i, v.id, i % 5 < 3, promotedAt + 1e6)));
    now += 2000;
    await controller.rateFor(config, v.id);
    await expect.poll(() => controller.decisionFor('intents', v.id)?.state, { timeout: 10_000 }).toBe('drift');
    expect(await controller.rateFor(config, v.id)).toBe(0.2);
    await pairs.close();
  });
});
