import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { buildOnlineReport } from '../../src/core/eval/online-report.js';
import { DEFAULT_PRICING } from '../../src/core/eval/pricing.js';
import { chooseTrendBucket } from '../../src/core/eval/report-trends.js';
import type { AppEnv } from '../../src/http/create-app.js';
import { toOpenAIError } from '../../src/http/error-mapping.js';
import { createReportApiRoutes } from '../../src/http/report-routes.js';
import { generatePairs } from '../integration/eval-seed-pairs.js';

// GET /admin/reports/trends: the window in auto-sized buckets, each point the online report of its
// own slice — so the buckets add up to the whole window and each estimate equals the report's.

const pairs = generatePairs({ count: 1500, seed: 9 });
const now = Date.parse('2026-11-08T00:00:00.000Z');
let store: SqlitePairStore;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (res: Response): Promise<any> => res.json();

function app() {
  const a = new Hono<AppEnv>();
  a.onError((err, c) => {
    const { status, body } = toOpenAIError(err);
    return c.json(body, status);
  });
  a.route('/admin/reports', createReportApiRoutes({ pairStore: store, tasks: ['bank-intents', 'support-chat'], pricing: DEFAULT_PRICING, clock: { now: () => now } }));
  return a;
}

beforeAll(async () => {
  store = new SqlitePairStore({ path: ':memory:' });
  await store.upsertMany(pairs);
});
afterAll(async () => store.close());

describe('trend report', () => {
  it('picks the smallest standard bucket giving at most 48 points', () => {
    expect(chooseTrendBucket(3_600_000)).toBe(300_000);
    expect(chooseTrendBucket(86_400_000)).toBe(3_600_000);
    expect(chooseTrendBucket(7 * 86_400_000)).toBe(21_600_000);
    expect(chooseTrendBucket(90 * 86_400_000)).toBe(604_800_000);
  });

  it('cuts the window into buckets whose points match the report of each slice', async () => {
    const since = '2026-11-02T00:00:00.000Z';
    const until = '2026-11-04T00:00:00.000Z';
    const res = await app().request(`/admin/reports/trends?task=bank-intents&since=${since}&until=${until}`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.bucketInMs).toBe(3_600_000);
    const points = body.tasks[0].points;
    expect(points.length).toBe(48);
    const inWindow = pairs.filter((p) => p.task === 'bank-intents' && p.createdAt >= since && p.createdAt < until);
    expect(points.reduce((s: number, p: { requests: number }) => s + p.requests, 0)).toBe(inWindow.length);
    // Point 5 equals the online report of its hour.
    const p5 = points[5];
    const hour = inWindow.filter((p) => p.createdAt >= p5.start && p.createdAt < p5.end);
    const report = await buildOnlineReport(hour, { pricing: DEFAULT_PRICING, task: 'bank-intents', since: p5.start, until: p5.end, now });
    expect(p5.studentQuality).toEqual(report.tasks[0]!.agreement.studentQuality);
    expect(p5.served).toEqual(report.tasks[0]!.agreement.served);
    expect(p5.latency.student.p50InMs).toBe(report.tasks[0]!.arms.student!.latency.p50InMs);
  });

  it('gives each task its own series without a task filter and refuses a bucket too small', async () => {
    const body = await json(await app().request('/admin/reports/trends'));
    expect(body.tasks.map((t: { task: string }) => t.task)).toEqual(['bank-intents', 'support-chat']);
    expect(body.bucketInMs).toBe(21_600_000);
    const bad = await app().request('/admin/reports/trends?bucketInMs=60000&since=2026-01-01T00:00:00Z');
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.param).toBe('bucketInMs');
  });
});
