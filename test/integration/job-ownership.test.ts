import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Distillery } from '../../src/compose/index.js';
import type { JobRecord } from '../../src/core/ports.js';
import { startIntentJobPlatform, type IntentJobPlatform } from '../fixtures/intent-job-platform.js';

// The job record belongs to its worker (#15 row 1): triggers that fire while a job trains are
// recorded beside it, the job still reaches `succeeded`, and one follow-up job runs for them.
// Training progress reaches the record as it rises (#13 item 2). Same setup as the recovery test.

let p: IntentJobPlatform;
let d: Distillery;

beforeEach(async () => {
  p = await startIntentJobPlatform();
  d = p.d;
});

afterEach(() => p.close());

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutInMs = 60_000) {
  const deadline = Date.now() + timeoutInMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('job ownership', () => {
  it('two manual triggers during training: the job still succeeds, then one follow-up job runs', async () => {
    const progress: number[] = [];
    let calls = 0;
    p.controls.duringTraining = async (request, options) => {
      if (calls++ > 0) return;
      // Two manual triggers (what POST /admin/tasks/{task}/distill calls) while the job trains.
      const first = await d.triggers.request('intents', { type: 'manual', detail: 'operator 1' });
      const second = await d.triggers.request('intents', { type: 'manual', detail: 'operator 2' });
      expect([first.created, second.created]).toEqual([false, false]);
      expect(second.pending).toMatchObject({ count: 2, first: { detail: 'operator 1' }, last: { detail: 'operator 2' } });
      // The trainer's progress reaches the record while training runs.
      for (const f of [0.25, 0.5, 0.75]) {
        options?.onProgress?.(f, `epoch ${f}`);
        await waitFor(`progress ${f}`, async () => ((await d.jobStore.get(request.jobId))?.progress ?? 0) > 0.5 + 0.3 * f - 1e-9);
        progress.push((await d.jobStore.get(request.jobId))!.progress);
      }
    };
    const { job } = await d.triggers.request('intents', { type: 'manual' });
    const done = (await d.runner.run(job.id))!;
    expect(done.state).toBe('succeeded');
    expect(done.log.some((l) => /recorded while/.test(l.message))).toBe(false);
    // Progress took several increasing values between 0.5 and 0.8 during training.
    expect(progress.length).toBe(3);
    for (let i = 0; i < progress.length; i++) {
      expect(progress[i]).toBeGreaterThan(0.5);
      expect(progress[i]).toBeLessThan(0.8);
      if (i > 0) expect(progress[i]).toBeGreaterThan(progress[i - 1]!);
    }
    // The follow-up job for the two coalesced triggers was queued when the job ended.
    const jobs: JobRecord[] = [];
    for await (const j of d.jobStore.list({ task: 'intents' })) jobs.push(j);
    expect(jobs.map((j) => j.id)).toEqual(['intents.2', 'intents.1']);
    expect(jobs[0]!.trigger).toMatchObject({ type: 'manual' });
    expect(jobs[0]!.trigger.detail).toMatch(/2 triggers recorded while the previous job ran/);
    expect(await d.jobStore.getPendingTrigger('intents')).toBeUndefined();
    const followUp = (await d.runner.run('intents.2'))!;
    expect(followUp.state).toBe('succeeded');
  }, 120_000);
});
