import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { DistilleryError } from '../../src/core/errors.js';
import { buildOnlineReport } from '../../src/core/eval/online-report.js';
import { DEFAULT_PRICING, priceCall } from '../../src/core/eval/pricing.js';
import { renderReportMarkdown, renderReportTable } from '../../src/core/eval/report-format.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { generatePairs } from './eval-seed-pairs.js';

// The online report over a real (in-memory SQLite) pair store seeded with synthetic traffic; the
// expected figures are recomputed from the seeded records independently of the report code.

const pairs = generatePairs({ count: 3000, seed: 7, tenants: ['acme', 'globex'] });
let store: SqlitePairStore;

beforeAll(async () => {
  store = new SqlitePairStore({ path: ':memory:' });
  await store.upsertMany(pairs);
});
afterAll(async () => {
  await store.close();
});

const since = '2026-11-01T00:00:00.000Z';
const until = '2026-11-08T00:00:00.000Z';

describe('online report over a seeded pair store', () => {
  it('counts requests per task and arm and computes label agreement exactly', async () => {
    const report = await buildOnlineReport(store.list({ task: 'bank-intents', since, until }), { pricing: DEFAULT_PRICING, task: 'bank-intents', since, until, now: Date.parse(until) });
    const seeded = pairs.filter((p) => p.task === 'bank-intents');
    expect(report.totals.pairs).toBe(seeded.length);
    const t = report.tasks[0]!;
    expect(t.task).toBe('bank-intents');
    expect(t.servedBy.student).toBe(seeded.filter((p) => p.servedArm === 'student').length);
    const comparable = seeded.filter((p) => p.teacher && !p.student!.error && p.labels!.student != null && p.labels!.teacher != null);
    const agree = comparable.filter((p) => p.labels!.teacher === p.labels!.student).length;
    // Every comparable seeded pair has a shadowing arm, so here the random shadow sample is all of them.
    expect(t.agreement.kind).toBe('label');
    expect(t.agreement.studentQuality.n).toBe(comparable.length);
    expect(t.agreement.studentQuality.rate).toBeCloseTo(agree / comparable.length, 12);
    expect(t.agreement.studentQuality.interval!.lower).toBeLessThan(t.agreement.studentQuality.rate!);
    expect(t.agreement.studentQuality.sufficient).toBe(true);
    expect(t.agreement.escalation.n).toBe(0);
    expect(t.arms.student!.errors).toBe(seeded.filter((p) => p.student!.error).length);
    // Gold references: per-arm accuracy and McNemar on the discordant pairs.
    const withRef = comparable.filter((p) => p.source.reference !== undefined);
    expect(t.reference!.pairs).toBe(withRef.length);
    const b = withRef.filter((p) => p.labels!.student === p.source.reference && p.labels!.teacher !== p.source.reference).length;
    const c = withRef.filter((p) => p.labels!.teacher === p.source.reference && p.labels!.student !== p.source.reference).length;
    expect([t.reference!.mcnemar.b, t.reference!.mcnemar.c]).toEqual([b, c]);
  });

  it('prices every call and nets the savings against a teacher-only counterfactual', async () => {
    const report = await buildOnlineReport(store.list({ task: 'bank-intents', since, until }), { pricing: DEFAULT_PRICING, since, until });
    const seeded = pairs.filter((p) => p.task === 'bank-intents');
    const cost = (arm: 'teacher' | 'student', p: PairRecord) => {
      const out = p[arm]!;
      return arm === 'teacher'
        ? priceCall(DEFAULT_PRICING, { modelId: out.model, hosting: 'remote', usage: out.usage!, latencyInMs: out.latencyInMs })
        : priceCall(DEFAULT_PRICING, { modelId: out.model, hosting: 'in-process', latencyInMs: out.latencyInMs });
    };
    const served = seeded.reduce((s, p) => s + cost(p.servedArm, p), 0);
    const other = (p: PairRecord) => (p.servedArm === 'student' ? 'teacher' : 'student');
    const overhead = seeded.reduce((s, p) => s + (p[other(p)] ? cost(other(p), p) : 0), 0);
    // Requests the teacher did not see are counted at the mean teacher cost of the random shadow
    // sample among student-served requests (was: the mean of every teacher call, which leans on
    // teacher-served and escalated requests — #16 item 2).
    const withTeacher = seeded.filter((p) => p.teacher);
    const teacherSum = withTeacher.reduce((s, p) => s + cost('teacher', p), 0);
    const shadowed = withTeacher.filter((p) => p.servedArm === 'student');
    const shadowMean = shadowed.reduce((s, p) => s + cost('teacher', p), 0) / shadowed.length;
    const teacherOnly = teacherSum + (seeded.length - withTeacher.length) * shadowMean;
    const t = report.tasks[0]!;
    expect(t.cost.servedUsd).toBeCloseTo(served, 9);
    expect(t.cost.overheadUsd).toBeCloseTo(overhead, 9);
    expect(t.cost.teacherOnlyUsd).toBeCloseTo(teacherOnly, 9);
    expect(t.cost.teacherOnlyEstimated).toBe(true);
    expect(t.cost.teacherOnly.method).toBe('shadow-sample');
    // Every seeded teacher call costs the same, so the interval is (almost) a point.
    expect(t.cost.teacherOnly.interval!.lower).toBeLessThanOrEqual(teacherOnly + 1e-9);
    expect(t.cost.teacherOnly.interval!.upper).toBeGreaterThanOrEqual(teacherOnly - 1e-9);
    expect(t.cost.ledger!.netSavingsUsd).toBeCloseTo(teacherOnly - served - overhead, 9);
    // A student serving ~70% of traffic at a tiny fraction of the teacher's price saves money.
    expect(t.cost.ledger!.netSavingsRatio).toBeGreaterThan(0.4);
    expect(t.arms.teacher!.latency.p50InMs).toBeGreaterThan(2500);
    expect(t.arms.student!.latency.p50InMs).toBeLessThan(20);
  });

  it('computes text agreement with normalized match and chrF, and shows drift over time', async () => {
    const report = await buildOnlineReport(store.list({ task: 'support-chat', since, until }), { pricing: DEFAULT_PRICING, since, until, bucketInMs: 86_400_000 });
    const t = report.tasks[0]!;
    expect(t.agreement.text!.pairs).toBe(pairs.filter((p) => p.task === 'support-chat' && p.teacher).length);
    expect(t.agreement.text!.chrf!.estimate).toBeGreaterThan(50);
    expect(t.agreement.text!.chrf!.estimate).toBeLessThan(100);
    expect(t.trend.buckets).toHaveLength(7);
    const first = t.trend.buckets[0]!.chrfMean!;
    const last = t.trend.buckets[6]!.chrfMean!;
    expect(last).toBeLessThan(first);
    expect(t.trend.buckets.reduce((s, b) => s + b.requests, 0)).toBe(t.requests);
    expect(t.latencyDistribution.counts.teacher!.reduce((s, x) => s + x, 0)).toBe(t.arms.teacher!.calls);
  });

  it('filters by tenant and window; refuses bad windows with a typed error', async () => {
    const report = await buildOnlineReport(store.list({ task: 'bank-intents', tenant: 'globex' }), { pricing: DEFAULT_PRICING, tenant: 'globex', since: '2026-11-03T00:00:00.000Z', until: '2026-11-04T00:00:00.000Z' });
    const expected = pairs.filter((p) => p.task === 'bank-intents' && p.tenant === 'globex' && p.createdAt >= '2026-11-03T00:00:00.000Z' && p.createdAt < '2026-11-04T00:00:00.000Z');
    expect(report.totals.pairs).toBe(expected.length);
    expect(report.tasks[0]!.trend.bucketInMs).toBe(3_600_000);
    await expect(buildOnlineReport([], { pricing: DEFAULT_PRICING, since: 'yesterday' })).rejects.toBeInstanceOf(DistilleryError);
    await expect(buildOnlineReport([], { pricing: DEFAULT_PRICING, since: until, until: since })).rejects.toBeInstanceOf(DistilleryError);
  });

  it('nets judge and training costs, and skips malformed records instead of failing', async () => {
    const seeded = pairs.filter((p) => p.task === 'bank-intents').slice(0, 200);
    const base = await buildOnlineReport(seeded, { pricing: DEFAULT_PRICING });
    const withFixed = await buildOnlineReport(seeded, { pricing: DEFAULT_PRICING, fixedCostsUsd: { 'bank-intents': { judgeCostUsd: 0.5, trainingCostUsd: 2 } } });
    expect(withFixed.tasks[0]!.cost.ledger!.netSavingsUsd).toBeCloseTo(base.tasks[0]!.cost.ledger!.netSavingsUsd - 2.5, 9);
    const broken = [
      ...seeded,
      { ...seeded[0]!, id: 'bad-tokens', teacher: { ...seeded[0]!.teacher!, model: 'DeepSeek-V3', usage: { promptTokens: -5, completionTokens: 1 } } },
      { ...seeded[0]!, id: 'bad-arm', servedArm: 'nobody' } as unknown as PairRecord,
      { id: 'not-a-pair' } as unknown as PairRecord,
    ];
    const r = await buildOnlineReport(broken, { pricing: DEFAULT_PRICING });
    expect(r.totals.pairs).toBe(201);
    expect(r.tasks[0]!.arms.teacher!.unpricedCalls).toBe(base.tasks[0]!.arms.teacher!.unpricedCalls + 1);
  });

  it('marks too little data as insufficient and renders Markdown and the CLI table', async () => {
    const few = pairs.filter((p) => p.task === 'bank-intents').slice(0, 10);
    const report = await buildOnlineReport(few, { pricing: DEFAULT_PRICING });
    expect(report.tasks[0]!.agreement.studentQuality.sufficient).toBe(false);
    const md = renderReportMarkdown(report);
    expect(md).toContain('insufficient data');
    expect(md).toContain('| bank-intents |');
    expect(renderReportTable(report)).toContain('bank-intents');
    const empty = await buildOnlineReport([], { pricing: DEFAULT_PRICING });
    expect(empty.tasks).toEqual([]);
  });
});
