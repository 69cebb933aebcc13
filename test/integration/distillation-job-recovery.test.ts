import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Distillery } from '../../src/compose/index.js';
import type { JobRecord } from '../../src/core/ports.js';
import { startIntentJobPlatform, type IntentJobPlatform } from '../fixtures/intent-job-platform.js';

// Jobs survive workers dying between steps, run exactly once, and a candidate that fails the
// gate never replaces the serving student. Pairs are seeded straight into the store (stage 1 is
// tested elsewhere); the teacher is never called here.

let p: IntentJobPlatform;
let d: Distillery;

beforeEach(async () => {
  p = await startIntentJobPlatform();
  d = p.d;
});

afterEach(() => p.close());

async function versions() {
  const out = [];
  for await (const v of d.registry.list('intents')) out.push(v);
  return out;
}

describe('job recovery', () => {
  for (const step of ['queued', 'building_dataset', 'training', 'evaluating'] as const) {
    it(`a worker dying after '${step}' leaves a job that completes exactly once`, async () => {
      const { job } = await d.triggers.request('intents', { type: 'manual' });
      p.controls.crashAfter = step;
      await expect(d.runner.run(job.id)).rejects.toThrow(/worker died/);
      const midway = (await d.jobStore.get(job.id))!;
      expect(midway.state).not.toBe('failed');
      // Redelivery: the same message runs the job again; then a duplicate delivery is a no-op.
      const done = (await d.runner.run(job.id)) as JobRecord;
      expect(done.state).toBe('succeeded');
      expect(done.outcome).toBe('promoted');
      const again = (await d.runner.run(job.id)) as JobRecord;
      expect(again.updatedAt).toBe(done.updatedAt);
      const vs = await versions();
      expect(vs).toHaveLength(1);
      expect(vs[0]).toMatchObject({ version: 1, state: 'promoted', lineage: { jobId: job.id } });
      expect(done.log.filter((l) => l.message.startsWith('promoted')).length).toBe(1);
    }, 60_000);
  }

  it('two workers racing for one job: exactly one advances each step', async () => {
    const { job } = await d.triggers.request('intents', { type: 'manual' });
    const results = await Promise.all([d.runner.run(job.id), d.runner.run(job.id)]);
    const final = (await d.jobStore.get(job.id))!;
    expect(final.state).toBe('succeeded');
    expect(results.every((r) => r !== undefined)).toBe(true);
    expect(await versions()).toHaveLength(1);
  }, 60_000);

  it('a second trigger while a job is active is recorded, not queued twice', async () => {
    const first = await d.triggers.request('intents', { type: 'manual' });
    const second = await d.triggers.request('intents', { type: 'threshold', detail: '5000 new pairs' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.job.id).toBe(first.job.id);
    // Recorded beside the job (its worker owns the record), coalesced into the task's pending request.
    expect(second.pending).toMatchObject({ task: 'intents', count: 1, first: { type: 'threshold', detail: '5000 new pairs' } });
    expect(await d.jobStore.getPendingTrigger('intents')).toEqual(second.pending);
    expect(second.job.etag).toBe(first.job.etag);
    let jobs = 0;
    for await (const _ of d.jobStore.list({ task: 'intents' })) jobs++;
    expect(jobs).toBe(1);
  });

  it('a gate that rejects a bad candidate keeps the current student serving', async () => {
    const good = await d.triggers.request('intents', { type: 'manual' });
    expect((await d.runner.run(good.job.id))?.outcome).toBe('promoted');
    p.controls.sabotage = true;
    const bad = await d.triggers.request('intents', { type: 'manual' });
    const rejected = (await d.runner.run(bad.job.id))!;
    expect(rejected.state).toBe('succeeded');
    expect(rejected.outcome).toBe('rejected');
    const reasons = (rejected.steps.gate as { reasons: string[] }).reasons.join(' ');
    expect(reasons).toMatch(/agreement with teacher \(classification\) 0\.\d+ < 0\.8/);
    expect(reasons).toMatch(/not shown non-inferior/);
    const promoted = await d.registry.getPromoted('intents');
    expect(promoted?.version).toBe(1);
    expect((await d.registry.get('intents', 2))?.state).toBe('candidate');
    // And the router still serves version 1.
    const student = await d.models.student(d.tasks.get('intents')!.config);
    expect(student?.id).toBe('intents@1');
  }, 90_000);
});
