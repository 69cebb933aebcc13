import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConcurrencyError, DistilleryError } from '../../src/core/errors.js';
import type { JobRecord, JobStore } from '../../src/core/ports.js';

// The JobStore contract, run unchanged over SQLite and Cosmos DB. Tests use their own task and
// tenant names so a shared server needs no cleanup. `create` should use a small list page size.

export function makeJob(task: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: `job-${randomUUID()}`,
    task,
    kind: 'redistill',
    state: 'queued',
    trigger: { type: 'threshold', detail: '500 new pairs' },
    progress: 0,
    createdAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:00:00.000Z',
    steps: {},
    log: [{ at: '2026-03-01T10:00:00.000Z', level: 'info', message: 'queued' }],
    ...overrides,
  };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const strip = ({ etag: _e, ...rest }: JobRecord) => rest;

export function jobStoreContract(name: string, create: () => Promise<JobStore>): void {
  describe(`JobStore contract: ${name}`, () => {
    const task = () => `task-${randomUUID().slice(0, 8)}`;

    it('creates with an etag and gets the record back; absent or other-task reads are undefined', async () => {
      const store = await create();
      const t = task();
      const job = makeJob(t, { tenant: 'acme', spec: { learning_rate: 2e-5, num_epochs: 3 } });
      const created = await store.create(job);
      expect(typeof created.etag).toBe('string');
      expect(strip(created)).toEqual(job);
      const got = await store.get(job.id);
      expect(got).toEqual(created);
      expect(await store.get(job.id, { task: t })).toEqual(created);
      expect(await store.get(job.id, { task: `${t}-x` })).toBeUndefined();
      expect(await store.get('job-missing', { task: t })).toBeUndefined();
      expect(await store.get('job-missing')).toBeUndefined();
    });

    it('refuses to create an id twice with a ConcurrencyError', async () => {
      const store = await create();
      const job = makeJob(task());
      await store.create(job);
      await expect(store.create({ ...job, state: 'training' })).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await store.get(job.id, { task: job.task }))!.state).toBe('queued');
    });

    it('updates with the current etag and refuses a stale one', async () => {
      const store = await create();
      const created = await store.create(makeJob(task()));
      const advanced = await store.update({ ...created, state: 'building_dataset', progress: 0.1, updatedAt: '2026-03-01T10:01:00.000Z' });
      expect(advanced.etag).toBeDefined();
      expect(advanced.etag).not.toBe(created.etag);
      expect(advanced.state).toBe('building_dataset');
      await expect(store.update({ ...created, state: 'failed' })).rejects.toBeInstanceOf(ConcurrencyError);
      const again = await store.update({ ...advanced, state: 'training', progress: 0.5 });
      expect(await store.get(created.id, { task: created.task })).toEqual(again);
    });

    it('lets exactly one of two racing workers advance a job', async () => {
      const store = await create();
      const created = await store.create(makeJob(task()));
      for (let round = 0; round < 3; round++) {
        const [a, b] = await Promise.all([store.get(created.id, { task: created.task }), store.get(created.id, { task: created.task })]);
        const results = await Promise.allSettled([
          store.update({ ...a!, progress: 0.1 * (round + 1), steps: { counterAtStart: 1 } }),
          store.update({ ...b!, progress: 0.1 * (round + 1), steps: { counterAtStart: 2 } }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(ConcurrencyError);
        const current = await store.get(created.id, { task: created.task });
        expect(current).toEqual((won[0] as PromiseFulfilledResult<JobRecord>).value);
      }
    });

    it('lists newest first, filtered by task, states and tenant, across pages', async () => {
      const store = await create();
      const t = task();
      const tenant = `tenant-${randomUUID().slice(0, 8)}`;
      const jobs: JobRecord[] = [];
      for (let i = 0; i < 13; i++) {
        const job = makeJob(i % 4 === 3 ? `${t}-b` : t, {
          id: `job-${t}-${String(i).padStart(2, '0')}`,
          tenant: i % 5 === 0 ? undefined : tenant,
          state: i % 3 === 0 ? 'succeeded' : 'queued',
          createdAt: new Date(Date.UTC(2026, 2, 1, 10, Math.floor(i / 2))).toISOString(),
        });
        jobs.push(job);
        await store.create(job);
      }
      const newestFirst = [...jobs].sort((x, y) => y.createdAt.localeCompare(x.createdAt) || y.id.localeCompare(x.id));
      const ids = async (q: Parameters<JobStore['list']>[0]) => (await collect(store.list(q))).map((j) => j.id);
      expect(await ids({ task: t })).toEqual(newestFirst.filter((j) => j.task === t).map((j) => j.id));
      expect(await ids({ task: t, states: ['succeeded'] })).toEqual(newestFirst.filter((j) => j.task === t && j.state === 'succeeded').map((j) => j.id));
      expect(await ids({ task: t, states: ['queued', 'succeeded'], tenant })).toEqual(
        newestFirst.filter((j) => j.task === t && j.tenant === tenant).map((j) => j.id),
      );
      expect(await ids({ tenant })).toEqual(newestFirst.filter((j) => j.tenant === tenant).map((j) => j.id));
      expect(await ids({ task: t, states: [] })).toEqual([]);
      const listed = await collect(store.list({ task: `${t}-b` }));
      expect(listed.every((j) => typeof j.etag === 'string')).toBe(true);
    });

    it('refuses bad jobs and bad queries with typed errors', async () => {
      const store = await create();
      const t = task();
      const bad: JobRecord[] = [
        makeJob(t, { id: '' }),
        makeJob(t, { state: 'dreaming' as JobRecord['state'] }),
        makeJob(t, { createdAt: 'soon' }),
        makeJob(t, { progress: 2 }),
        makeJob(t, { task: undefined as unknown as string }),
      ];
      for (const job of bad) await expect(store.create(job)).rejects.toBeInstanceOf(DistilleryError);
      const created = await store.create(makeJob(t));
      await expect(store.update({ ...created, etag: undefined })).rejects.toBeInstanceOf(DistilleryError);
      await expect(store.update({ ...created, state: 'nope' as JobRecord['state'] })).rejects.toBeInstanceOf(DistilleryError);
      await expect(store.update(makeJob(t, { etag: created.etag }))).rejects.toMatchObject({ status: 404 });
      await expect(collect(store.list({ task: t, states: ['nope' as JobRecord['state']] }))).rejects.toBeInstanceOf(DistilleryError);
      expect((await store.get(created.id, { task: t }))!.state).toBe('queued');
    });

    it('coalesces pending triggers per task beside the job, and hands them to exactly one taker (#15)', async () => {
      const store = await create();
      const [t, other] = [task(), task()];
      const job = await store.create(makeJob(t, { state: 'training' }));
      expect(await store.getPendingTrigger(t)).toBeUndefined();
      const first = await store.recordPendingTrigger(t, { type: 'drift', detail: 'agreement 0.7', at: '2026-03-01T10:01:00.000Z' });
      expect(first).toMatchObject({ task: t, count: 1, first: { type: 'drift' }, last: { type: 'drift' } });
      const last = await store.recordPendingTrigger(t, { type: 'manual', at: '2026-03-01T10:02:00.000Z' });
      expect(last).toMatchObject({ count: 2, first: { type: 'drift', detail: 'agreement 0.7' }, last: { type: 'manual', at: '2026-03-01T10:02:00.000Z' } });
      // Beside the job, never in it: the worker's etag still holds.
      expect((await store.get(job.id, { task: t }))!.etag).toBe(job.etag);
      expect(await store.getPendingTrigger(other)).toBeUndefined();
      // Concurrent triggers are all counted.
      await Promise.all(Array.from({ length: 5 }, (_, i) => store.recordPendingTrigger(t, { type: 'schedule', at: `2026-03-01T10:03:0${i}.000Z` })));
      expect((await store.getPendingTrigger(t))!.count).toBe(7);
      // Two takers racing: one gets the request, the other nothing; then it is gone.
      const taken = await Promise.all([store.takePendingTrigger(t), store.takePendingTrigger(t)]);
      expect(taken.filter((x) => x !== undefined)).toHaveLength(1);
      expect(taken.find((x) => x !== undefined)).toMatchObject({ task: t, count: 7 });
      expect(await store.getPendingTrigger(t)).toBeUndefined();
      expect(await store.takePendingTrigger(t)).toBeUndefined();
    });

    it('keeps the tenant of a pending trigger, so the follow-up job is created for it', async () => {
      const store = await create();
      const t = task();
      await store.recordPendingTrigger(t, { type: 'manual', at: '2026-03-01T10:01:00.000Z', tenant: 'tenant-a' });
      await store.recordPendingTrigger(t, { type: 'drift', at: '2026-03-01T10:02:00.000Z' });
      expect(await store.takePendingTrigger(t)).toMatchObject({ count: 2, first: { type: 'manual', tenant: 'tenant-a' }, last: { type: 'drift' } });
    });
  });
}
