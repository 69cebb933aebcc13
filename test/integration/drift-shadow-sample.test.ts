import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteJobQueue } from '../../src/adapters/sqlite/sqlite-job-queue.js';
import type { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import type { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { openTriggerStores, type TriggerStores } from '../fixtures/embedded-trigger-stores.js';
import { DistillTriggers } from '../../src/core/distill/distill-triggers.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { createTaskCatalog } from '../../src/core/tasks/task-catalog.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';

// #15 row 7: under a cascade the drift trigger measured agreement on escalated pairs too — the
// prompts the student was unsure of — and fired on a false signal right after a promotion. Drift
// now reads the random shadow sample only, with a minimum sample (the window) and a one-sided 95%
// upper bound below the floor; escalation agreement is reported beside it.

let stores: TriggerStores;
const now = Date.parse('2026-03-01T10:00:00Z');
let pairs: SqlitePairStore;
let jobs: SqliteJobStore;
let queue: SqliteJobQueue;

beforeEach(() => {
  stores = openTriggerStores('drift');
  ({ pairs, jobs, queue } = stores);
});
afterEach(() => stores.close());

const labels = ['refund', 'balance'];
const tasks = createTaskCatalog([
  taskSchema.parse({ name: 't', teacher: 'teacher', classification: { labels }, distill: { threshold: null, drift: { window: 50, minAgreement: 0.8 } } }),
]);
const triggers = () => new DistillTriggers({ jobs, pairs, queue, tasks, clock: { now: () => now } });

let seq = 0;
/** A cascade pair as the gateway writes it: an escalation, or a student-served request the teacher shadowed at random. */
function cascadePair(kind: 'escalated' | 'shadow', agree: boolean): PairRecord {
  seq++;
  const student = agree ? 'refund' : 'balance';
  const escalated = kind === 'escalated';
  return {
    id: `d${String(seq).padStart(5, '0')}`,
    task: 't',
    tenant: 'a',
    createdAt: new Date(now - 100_000 + seq).toISOString(),
    request: { messages: [{ role: 'user', content: `m${seq}` }], params: {} },
    servedArm: escalated ? 'teacher' : 'student',
    reason: `cascade: student first, teacher below confidence 0.6${escalated ? '; escalated: confidence 0.412 < 0.6' : ''}`,
    policy: 'cascade',
    teacher: { model: 'm', text: 'refund', latencyInMs: 1, role: escalated ? 'escalated' : 'shadow' },
    student: { model: 't@1', text: student, latencyInMs: 1, confidence: escalated ? 0.41 : 0.9, role: escalated ? 'cascade_first' : 'served' },
    labels: { teacher: 'refund', student, usableForTraining: true },
    source: { kind: 'traffic' },
  };
}

describe('drift on the random shadow sample', () => {
  it('does not fire on escalations alone: escalated pairs disagree, shadow pairs agree', async () => {
    // 150 escalations, 70% of them disagreeing; 60 random shadows, 55 agreeing (0.917) — interleaved.
    const batch: PairRecord[] = [];
    for (let i = 0; i < 210; i++) batch.push(i % 7 < 5 ? cascadePair('escalated', i % 10 < 3) : cascadePair('shadow', i % 12 !== 0));
    await pairs.upsertMany(batch);
    const t = triggers();
    const sample = await t.rollingAgreement(tasks.get('t')!, 50);
    expect(sample.n).toBe(50);
    expect(sample.agreement).toBeGreaterThan(0.85);
    expect(sample.escalation.n).toBe(150);
    expect(sample.escalation.agreements / sample.escalation.n).toBeLessThan(0.4);
    expect(await t.check(undefined)).toEqual([]);
  });

  it('fires when the shadow sample itself disagrees, and says which estimate it used', async () => {
    const batch: PairRecord[] = [];
    for (let i = 0; i < 120; i++) batch.push(i % 2 ? cascadePair('escalated', true) : cascadePair('shadow', i % 4 === 0));
    await pairs.upsertMany(batch);
    const [r] = await triggers().check(undefined);
    expect(r).toMatchObject({ created: true, job: { trigger: { type: 'drift' } } });
    expect(r!.job.trigger.detail).toMatch(/agreement 0\.500 < 0\.8 over 50 pairs of the random shadow sample \(one-sided 95% upper bound 0\.6\d\d\); escalation agreement 1\.000 over 60 escalated pairs, not used/);
  });

  it('needs a full window of shadow pairs and an upper bound below the floor', async () => {
    // 40 shadows all disagreeing: below the minimum sample of 50 → no drift yet.
    await pairs.upsertMany(Array.from({ length: 40 }, () => cascadePair('shadow', false)));
    expect(await triggers().check(undefined)).toEqual([]);
    // 50 shadows at 0.74: below the 0.8 floor as a point, but the upper bound (≈0.83) is not.
    await pairs.upsertMany(Array.from({ length: 50 }, (_, i) => cascadePair('shadow', i % 50 < 37)));
    const sample = await triggers().rollingAgreement(tasks.get('t')!, 50);
    expect(sample.agreement).toBeCloseTo(0.74, 5);
    expect(sample.interval!.upper).toBeGreaterThan(0.8);
    expect(await triggers().check(undefined)).toEqual([]);
  });
});
