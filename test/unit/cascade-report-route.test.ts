import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { DEFAULT_PRICING } from '../../src/core/eval/pricing.js';
import { riskCoverageAt } from '../../src/core/eval/risk-coverage.js';
import { createRandom } from '../../src/core/eval/random.js';
import { createCascadeMonitor } from '../../src/core/routing/online-cascade-threshold.js';
import { createLabelParser } from '../../src/core/tasks/classification-task.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import type { AppEnv } from '../../src/http/create-app.js';
import { toOpenAIError } from '../../src/http/error-mapping.js';
import { createReportApiRoutes } from '../../src/http/report-routes.js';
import { randomShadowPair } from '../fixtures/cascade-pairs.js';

// GET /admin/reports/cascade: per student version its τ and the risk–coverage curve its job
// measured (with the chosen point), and for the serving version the online τ with the shadow rows
// it rests on — from real SQLite stores and the same monitor the router uses.

const promotedAt = Date.UTC(2026, 0, 2);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (res: Response): Promise<any> => res.json();

const shadowPair = (i: number, model: string, confidence: number, agree: boolean) =>
  randomShadowPair({ id: `p-${String(i).padStart(6, '0')}`, model, agree, confidence, tenant: i % 2 ? 'acme' : 'globex', at: promotedAt + 1000 + i * 1000 });

async function setUp() {
  const registry = new SqliteModelRegistry({ path: ':memory:', now: () => new Date(promotedAt) });
  const jobs = new SqliteJobStore({ path: ':memory:' });
  const pairs = new SqlitePairStore({ path: ':memory:' });
  const config = taskSchema.parse({
    name: 'intents', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: ['a', 'b'] },
    routing: { policy: { type: 'cascade', target: { minAgreement: 0.95 }, shadowSampleRate: 0.2 } },
  });
  const scored = Array.from({ length: 300 }, (_, i) => ({ confidence: (i % 100) / 100, agrees: i % 100 >= 20 || i % 3 === 0 }));
  const [chosen] = riskCoverageAt(scored, [0.9]);
  const at = new Date(promotedAt).toISOString();
  await jobs.create({
    id: 'job-1', task: 'intents', kind: 'redistill', state: 'succeeded', outcome: 'promoted', trigger: { type: 'manual' }, progress: 1, createdAt: at, updatedAt: at, log: [],
    steps: { cascade: { n: 300, ece: 0.04, meanConfidence: 0.5, agreement: 0.85, curve: riskCoverageAt(scored), chosen: { ...chosen!, source: "0.9000 (version's τ for minAgreement 0.95)" } } },
  });
  const v = await registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'm', lineage: { jobId: 'job-1' }, metrics: { cascadeThreshold: 0.9 } });
  await registry.promote('intents', v.version);
  const rand = createRandom(5);
  await pairs.upsertMany(Array.from({ length: 1500 }, (_, i) => {
    const c = rand();
    return shadowPair(i, v.id, c, c >= 0.4 || rand() < 0.5);
  }));
  const parseLabel = createLabelParser({ labels: ['a', 'b'], labelFormat: { type: 'label' } });
  const monitor = createCascadeMonitor({ registry, pairs, tasks: { get: () => ({ parseLabel }) }, clock: { now: () => promotedAt + 1e8 } });
  const appWith = (tenant?: string) => {
    const app = new Hono<AppEnv>();
    app.onError((err, c) => {
      const { status, body } = toOpenAIError(err);
      return c.json(body, status);
    });
    if (tenant) app.use('*', async (c, next) => { c.set('tenant', tenant); await next(); });
    app.route('/admin/reports', createReportApiRoutes({
      pairStore: pairs, tasks: ['intents'], pricing: DEFAULT_PRICING, clock: { now: () => promotedAt + 1e8 },
      cascade: { registry, jobs, monitor, task: (name) => (name === 'intents' ? config : undefined) },
    }));
    return app;
  };
  return { v, config, monitor, appWith, close: () => pairs.close() };
}

describe('GET /admin/reports/cascade', () => {
  it("reports each version's τ and curve, and the serving version's online τ with its shadow rows", async () => {
    const { v, config, monitor, appWith, close } = await setUp();
    const body = await json(await appWith().request('/admin/reports/cascade?task=intents'));
    const [task] = body.tasks;
    expect(task.policy).toMatchObject({ type: 'cascade', target: { minAgreement: 0.95 } });
    const [version] = task.versions;
    expect(version).toMatchObject({ id: v.id, state: 'promoted', threshold: 0.9, thresholdSource: "0.9000 (version's τ for minAgreement 0.95)" });
    expect(version.curve.points).toHaveLength(8);
    expect(version.curve).toMatchObject({ jobId: 'job-1', split: 'test', n: 300, chosen: { threshold: 0.9 } });
    // Not routed yet: estimated for the report from the same sample.
    expect(version.online).toMatchObject({ modelId: v.id, shadowRows: 1500 });
    expect(version.online.online).toMatchObject({ source: 'report', state: 'loosened', rows: 1500, offlineThreshold: 0.9 });
    expect(version.online.online.threshold).toBeLessThan(0.9);

    // Once the router has asked, the report shows the router's decision.
    const routed = await monitor.thresholds.thresholdFor(config, { id: v.id, cascadeCalibration: { threshold: 0.9, target: { minAgreement: 0.95, confidence: 0.95 } } });
    const again = await json(await appWith().request('/admin/reports/cascade'));
    expect(again.tasks[0].versions[0].online.online).toMatchObject({ source: 'router', threshold: routed!.threshold });

    // A tenant's key: versions and curves, not the online part (its sample spans every tenant).
    const tenant = await json(await appWith('acme').request('/admin/reports/cascade?task=intents'));
    expect(tenant.tasks[0].versions[0].curve.points).toHaveLength(8);
    expect(tenant.tasks[0].versions[0].online).toBeUndefined();

    expect((await appWith().request('/admin/reports/cascade?task=nope')).status).toBe(400);
    await close();
  });
});
