import { describe, expect, it } from 'vitest';
import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { createRandom as mulberry32 } from '../../src/core/eval/random.js';
import { CONFIDENCE_BINS, confidenceBin } from '../../src/core/routing/adaptive-shadow-sample.js';
import { decideRoute } from '../../src/core/routing/decide-route.js';
import { createCascadeMonitor, estimateOnlineThreshold, onlinePointAt } from '../../src/core/routing/online-cascade-threshold.js';
import { createLabelParser } from '../../src/core/tasks/classification-task.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { randomShadowPair } from '../fixtures/cascade-pairs.js';

// The online τ of a target cascade: re-estimated from the random shadow sample of the serving
// version, loosened only where the one-sided bound on the rows it would serve still meets the
// target (with enough rows), tightened as soon as the bound refutes the version's τ.

type Row = { confidence: number; agrees: boolean };

function binsOf(rows: readonly Row[], neverServed = 0) {
  const bins = { rows: new Uint32Array(CONFIDENCE_BINS), agree: new Uint32Array(CONFIDENCE_BINS) };
  for (const r of rows) {
    const b = confidenceBin(r.confidence);
    bins.rows[b]!++;
    if (r.agrees) bins.agree[b]!++;
  }
  return { bins, neverServed };
}

/** A student whose agreement with the teacher rises with its confidence: P(agree | c) = floor + (1 − floor)·c². */
function traffic(n: number, seed: number, floor: number): Row[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const confidence = rand();
    return { confidence, agrees: rand() < floor + (1 - floor) * confidence ** 2 };
  });
}

const target = { minAgreement: 0.95, confidence: 0.95 };

describe('estimateOnlineThreshold', () => {
  it('loosens to the lowest τ whose lower bound still meets the target, never below it', () => {
    const sample = binsOf(traffic(20_000, 1, 0.8));
    const d = estimateOnlineThreshold({ target, offlineThreshold: 0.95, sample });
    expect(d.state).toBe('loosened');
    expect(d.threshold).toBeLessThan(0.95);
    expect(d.chosen.agreementLowerBound).toBeGreaterThanOrEqual(0.95);
    expect(d.chosen.served).toBeGreaterThanOrEqual(200);
    expect(d.rows).toBe(20_000);
    // One bin lower (the next row down) the bound no longer holds: nothing looser is allowed.
    let k = Math.round(d.threshold * CONFIDENCE_BINS) - 1;
    while (k >= 0 && sample.bins.rows[k] === 0) k--;
    const below = onlinePointAt(sample, k / CONFIDENCE_BINS);
    expect(below.served).toBeGreaterThan(d.chosen.served);
    expect(below.agreementLowerBound).toBeLessThan(0.95);
  });

  it('keeps the version τ while the rows a looser τ would serve are too few, however well they agree', () => {
    const rows = traffic(150, 2, 1); // every row agrees
    const d = estimateOnlineThreshold({ target, offlineThreshold: 0.9, sample: binsOf(rows) });
    expect(d.state).toBe('offline');
    expect(d.threshold).toBe(0.9);
    expect(d.reason).toMatch(/≥ 200 rows/);
    const enough = estimateOnlineThreshold({ target, offlineThreshold: 0.9, sample: binsOf(rows), settings: { enabled: true, minRows: 50, minRowsToTighten: 30 } });
    expect(enough.state).toBe('loosened');
  });

  it('tightens as soon as the bound at the version τ refutes the target, to what the bound allows or to ∞', () => {
    const sample = binsOf(traffic(20_000, 3, 0.8));
    const d = estimateOnlineThreshold({ target, offlineThreshold: 0.3, sample });
    expect(d.state).toBe('tightened');
    expect(d.offline.agreementUpperBound).toBeLessThan(0.95);
    expect(d.threshold).toBeGreaterThan(0.3);
    expect(d.chosen.agreementLowerBound).toBeGreaterThanOrEqual(0.95);
    // A student that agrees 70% at every confidence: no τ meets 0.95, the teacher answers.
    const poor = binsOf(Array.from({ length: 400 }, (_, i) => ({ confidence: (i % 100) / 100, agrees: i % 10 < 7 })));
    const none = estimateOnlineThreshold({ target, offlineThreshold: 0.5, sample: poor });
    expect(none).toMatchObject({ state: 'tightened', threshold: Number.POSITIVE_INFINITY });
    expect(none.reason).toMatch(/teacher answers/);
    // Too few rows at τ to refute it: kept.
    const few = binsOf(Array.from({ length: 20 }, (_, i) => ({ confidence: 0.6, agrees: i % 2 === 0 })));
    expect(estimateOnlineThreshold({ target, offlineThreshold: 0.5, sample: few }).state).toBe('offline');
  });

  it('never loosens past the bound, over many random samples (property)', () => {
    for (let seed = 10; seed < 60; seed++) {
      const rand = mulberry32(seed);
      const sample = binsOf(traffic(200 + Math.floor(rand() * 3000), seed, 0.5 + rand() * 0.5), Math.floor(rand() * 50));
      const offlineThreshold = rand();
      const d = estimateOnlineThreshold({ target, offlineThreshold, sample });
      if (d.threshold < offlineThreshold) {
        expect(d.state).toBe('loosened');
        expect(d.chosen.served).toBeGreaterThanOrEqual(200);
        expect(d.chosen.agreementLowerBound).toBeGreaterThanOrEqual(target.minAgreement);
      }
      if (d.state === 'tightened') expect(d.offline.agreementUpperBound).toBeLessThan(target.minAgreement);
    }
  });

  it('applies a maxAccuracyLoss target to the loss over all rows, escalated ones included', () => {
    const loss = { maxAccuracyLoss: 0.05, confidence: 0.95 };
    const sample = binsOf(traffic(10_000, 4, 0.7), 500);
    const d = estimateOnlineThreshold({ target: loss, offlineThreshold: 0.99, sample });
    expect(d.state).toBe('loosened');
    expect(d.rows).toBe(10_500);
    expect(d.chosen.accuracyLossUpperBound).toBeLessThanOrEqual(0.05);
  });
});

const shadowPair = (i: number, model: string, confidence: number, agree: boolean, at: number) =>
  randomShadowPair({ id: `p-${String(i).padStart(6, '0')}`, model, agree, confidence, at: at + i * 1000 });

describe('OnlineCascadeThresholds', () => {
  it('routes by the online τ of the serving version and names it in the reason', async () => {
    const promotedAt = Date.UTC(2026, 0, 2);
    const registry = new SqliteModelRegistry({ path: ':memory:', now: () => new Date(promotedAt) });
    const pairs = new SqlitePairStore({ path: ':memory:' });
    const v = await registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'm', lineage: {} });
    await registry.promote('intents', v.version);
    const parseLabel = createLabelParser({ labels: ['a', 'b'], labelFormat: { type: 'label' } });
    const config = taskSchema.parse({ name: 'intents', teacher: 'teacher', routing: { policy: { type: 'cascade', target: { minAgreement: 0.95 }, shadowSampleRate: 0.2 } } });
    let now = promotedAt + 1e7;
    const monitor = createCascadeMonitor({ registry, pairs, tasks: { get: () => ({ parseLabel }) }, clock: { now: () => now }, refreshInMs: 1000 });
    const student = { id: v.id, cascadeCalibration: { threshold: 0.9, target: { minAgreement: 0.95, confidence: 0.95 } } };

    // No shadow rows yet: the version's τ.
    const first = await monitor.thresholds.thresholdFor(config, student);
    expect(first!.threshold).toBe(0.9);
    expect(first!.describe).toMatch(/version's τ .* over 0 shadow rows/);

    // 2,000 shadow rows that agree whenever the student is ≥ 0.5 confident: a looser τ is allowed.
    const rand = mulberry32(7);
    await pairs.upsertMany(Array.from({ length: 2000 }, (_, i) => {
      const c = rand();
      return shadowPair(i, v.id, c, c >= 0.5 || rand() < 0.3, promotedAt);
    }));
    now += 2000;
    await monitor.thresholds.thresholdFor(config, student); // starts the background refresh
    await expect.poll(() => monitor.thresholds.decisionFor('intents', v.id)?.state, { timeout: 10_000 }).toBe('loosened');
    const online = (await monitor.thresholds.thresholdFor(config, student))!;
    expect(online.threshold).toBeGreaterThan(0.4); // a few rows below 0.5 still fit under the bound
    expect(online.threshold).toBeLessThan(0.6);
    const decision = decideRoute(config.routing, { studentAvailable: true, studentCalibration: student.cascadeCalibration, onlineThreshold: online }, () => 0.9);
    expect(decision.cascade!.threshold).toBe(online.threshold);
    expect(decision.reason).toMatch(/online τ for minAgreement 0.95 over 2000 shadow rows, loosened from the version's 0.9000/);

    // Switched off: the version's τ, and no reading at all.
    const off = taskSchema.parse({ ...config, routing: { policy: { type: 'cascade', target: { minAgreement: 0.95 }, onlineThreshold: { enabled: false } } } });
    expect(await monitor.thresholds.thresholdFor(off, student)).toBeUndefined();
    await pairs.close();
  });
});
