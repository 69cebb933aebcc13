import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteJobQueue } from '../../src/adapters/sqlite/sqlite-job-queue.js';
import type { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import type { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { openTriggerStores, type TriggerStores } from '../fixtures/embedded-trigger-stores.js';
import { createTaskCatalog } from '../../src/core/tasks/task-catalog.js';
import { DistillTriggers } from '../../src/core/distill/distill-triggers.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import type { ReceivedJobMessage } from '../../src/core/ports.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { CronExpressionParser } from 'cron-parser';

// Threshold, schedule and drift triggers over the embedded stores and queue.

let stores: TriggerStores;
let now = Date.parse('2026-03-01T10:00:00Z');
let pairs: SqlitePairStore;
let jobs: SqliteJobStore;
let queue: SqliteJobQueue;

beforeEach(() => {
  stores = openTriggerStores('triggers');
  ({ pairs, jobs, queue } = stores);
});
afterEach(() => stores.close());

const labels = ['refund', 'balance'];
function triggers(distill: unknown) {
  const tasks = createTaskCatalog([taskSchema.parse({ name: 't', teacher: 'teacher', classification: { labels }, distill })]);
  return new DistillTriggers({
    jobs,
    pairs,
    queue,
    tasks,
    clock: { now: () => now },
    previousCronTick: (expr, at) => CronExpressionParser.parse(expr, { currentDate: new Date(at.getTime() + 1) }).prev().toDate(),
  });
}
let seq = 0;
function pair(teacherLabel: string, studentLabel?: string): PairRecord {
  seq++;
  return {
    id: `p${seq}`,
    task: 't',
    tenant: 'a',
    createdAt: new Date(now - 1000 + seq).toISOString(),
    request: { messages: [{ role: 'user', content: `m${seq}` }], params: {} },
    servedArm: studentLabel ? 'student' : 'teacher',
    reason: 'x',
    policy: 'cascade',
    teacher: { model: 'm', text: teacherLabel, latencyInMs: 1, role: 'shadow' },
    ...(studentLabel ? { student: { model: 's', text: studentLabel, latencyInMs: 1, role: 'served' as const } } : {}),
    labels: { teacher: teacherLabel, ...(studentLabel ? { student: studentLabel } : {}), usableForTraining: true },
    source: { kind: 'traffic' },
  };
}
async function queued() {
  const got: ReceivedJobMessage[] = [];
  const sub = queue.subscribe(async (m) => void got.push(m));
  await new Promise((r) => setTimeout(r, 300));
  await sub.close();
  return got;
}

describe('triggers', () => {
  it('threshold: fires at N new pairs since the last job, once', async () => {
    const t = triggers({ threshold: { newPairs: 10 } });
    await pairs.upsertMany(Array.from({ length: 9 }, () => pair('refund')));
    expect(await t.check(undefined)).toEqual([]);
    await pairs.upsert(pair('refund'));
    const [r] = await t.check(undefined);
    expect(r).toMatchObject({ created: true, job: { id: 't.1', trigger: { type: 'threshold', detail: '10 new pairs ≥ 10' }, steps: { counterAtStart: 10 } } });
    expect((await queued()).map((m) => m.body.jobId)).toEqual(['t.1']);
    // While t.1 is active, another 10 pairs are recorded on it, not queued.
    await pairs.upsertMany(Array.from({ length: 10 }, () => pair('balance')));
    const [again] = await t.check(undefined);
    expect(again!.created).toBe(false);
    // After it succeeds, counting restarts from its counterAtStart.
    const job = (await jobs.get('t.1'))!;
    await jobs.update({ ...job, state: 'succeeded', outcome: 'promoted' });
    expect(await t.newPairsSinceLastJob('t')).toBe(10);
  });

  it('threshold: the stage-1 pairs of a dataset job do not count as new traffic', async () => {
    const t = triggers({ threshold: { newPairs: 10 } });
    const { job } = await t.request('t', { type: 'spec' }, { kind: 'dataset' });
    await pairs.upsertMany(Array.from({ length: 40 }, () => pair('refund'))); // the teacher answering the dataset
    await jobs.update({ ...job, state: 'succeeded', outcome: 'promoted', steps: { ...job.steps, counterAfterGeneration: 40 } });
    expect(await t.newPairsSinceLastJob('t')).toBe(0);
    expect(await t.check(undefined)).toEqual([]);
    await pairs.upsertMany(Array.from({ length: 10 }, () => pair('balance'))); // real traffic
    expect((await t.check(undefined))[0]).toMatchObject({ created: true, job: { trigger: { type: 'threshold' } } });
  });

  it('schedule: fires when a tick of the NCRONTAB passed since the last check', async () => {
    const t = triggers({ threshold: null, schedule: '0 0 3 * * *' });
    expect(await t.check(new Date(now - 60_000))).toEqual([]); // 10:00, last tick 03:00 before the last check
    now = Date.parse('2026-03-02T03:00:05Z');
    const [r] = await t.check(new Date(Date.parse('2026-03-02T02:59:00Z')));
    expect(r).toMatchObject({ created: true, job: { trigger: { type: 'schedule' } } });
    expect(r!.job.trigger.detail).toContain('2026-03-02T03:00:00.000Z');
  });

  it('drift: judges only pairs since the current student took over', async () => {
    // A window of 30 over all pairs would mix 10 of the old student's with the new one's 20 (0.67).
    const t = triggers({ threshold: null, drift: { window: 30, minAgreement: 0.8 } });
    await pairs.upsertMany(Array.from({ length: 40 }, () => pair('refund', 'balance'))); // the old student, disagreeing
    const { job } = await t.request('t', { type: 'manual' });
    now += 60_000;
    await jobs.update({ ...job, state: 'succeeded', outcome: 'promoted', finishedAt: new Date(now - 1).toISOString() });
    await pairs.upsertMany(Array.from({ length: 20 }, () => pair('refund', 'refund'))); // the new one, agreeing
    expect(await t.check(undefined)).toEqual([]);
  });

  it('drift: fires when rolling agreement over the window falls below the floor', async () => {
    const t = triggers({ threshold: null, drift: { window: 50, minAgreement: 0.8 } });
    await pairs.upsertMany(Array.from({ length: 50 }, (_, i) => pair('refund', i < 45 ? 'refund' : 'balance')));
    expect(await t.check(undefined)).toEqual([]); // 0.9 ≥ 0.8
    await pairs.upsertMany(Array.from({ length: 20 }, () => pair('refund', 'balance')));
    const { agreement, n } = await t.rollingAgreement(createTaskCatalog([taskSchema.parse({ name: 't', teacher: 'x', classification: { labels } })]).get('t')!, 50);
    expect(n).toBe(50);
    expect(agreement).toBeCloseTo(25 / 50, 5);
    const [r] = await t.check(undefined);
    expect(r).toMatchObject({ created: true, job: { trigger: { type: 'drift' } } });
    expect(r!.job.trigger.detail).toMatch(/agreement 0\.500 < 0\.8 over 50 pairs/);
  });
});
