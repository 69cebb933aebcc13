import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceBusJobQueue } from '../../src/adapters/service-bus/service-bus-job-queue.js';
import { SqliteJobQueue } from '../../src/adapters/sqlite/sqlite-job-queue.js';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { dispatchReceived } from '../../src/core/distill/job-messages.js';
import { ACTIVE_STATES } from '../../src/core/distill/job-runner.js';
import type { TriggerResult, TriggerType } from '../../src/core/distill/distill-triggers.js';
import { createRandom, randomInt, type RandomSource } from '../../src/core/eval/random.js';
import type { JobQueue, JobQueueSubscription, JobRecord, ReceivedJobMessage, OperationOptions } from '../../src/core/ports.js';
import { clincSubset, goldLabels } from '../fixtures/clinc150.js';
import { FaultyJobStore } from '../fixtures/faulty-job-store.js';
import { FaultyPairStore } from '../fixtures/faulty-pair-store.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { startServiceBusBroker, type RunningServiceBusBroker } from '../fixtures/service-bus-broker/service-bus-broker.js';

// #15 "A simulated-time soak test of the control loop". Time is a fake clock that moves only when
// every worker is idle (so no live lease expires under a running step); leases, back-offs of the
// SQLite queue, stall detection and schedules all read it. A seeded scenario fires triggers of
// every kind before, during (from the runner's afterStep hook) and after jobs, kills workers at
// random steps (the dead worker's writes never reach the store again and its lease is left to
// expire), takes the job and pair stores down for random stretches, and delivers job messages
// twice. A schedule trigger fired from inside a step moves the clock past the running worker's
// lease: that worker is paused, in effect, and may be resumed by another one while it still runs
// (this found two model versions registered for one job). Invariants: every job ends; never two active jobs of the task (sampled on every job
// write); a job created after the last trigger has ended; one model version per job at most.
// The driver waits on events (workers idle, queue drained), never on fixed sleeps.

const TASK = 'intents';
const data = clincSubset(['banking']);
const gold = goldLabels();
const THRESHOLD = 40;
const SCHEDULE = '0 */15 * * * *';
const KINDS: readonly TriggerType[] = ['threshold', 'schedule', 'drift', 'manual'];

class FakeClock {
  constructor(public t: number) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += Math.max(0, Math.round(ms));
  }
}

interface QueueUnderTest {
  queue: JobQueue;
  /** Messages a receiver could take now or is about to (ready or locked). */
  pending(): number;
  /** Every message still in the queue, whenever it becomes visible. */
  total(): Promise<number>;
}

interface SoakOptions {
  seed: number;
  triggers: number;
  /** The queue under test (a queue that cannot read the fake clock gets short real back-offs). */
  makeQueue(clock: FakeClock, dir: string): Promise<QueueUnderTest>;
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutInMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const pick = <T>(random: RandomSource, items: readonly T[]): T => items[randomInt(random, items.length)]!;

async function runSoak(options: SoakOptions) {
  const random = createRandom(options.seed);
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const dir = mkdtempSync(path.join(tmpdir(), 'distillery-soak-'));
  const outage = { until: 0, count: 0 };
  const isDown = () => clock.now() < outage.until;

  // Invariant: at most one active job of the task, sampled on every successful job write.
  const innerJobs = new SqliteJobStore({ path: path.join(dir, 'jobs.db') });
  const activeNow = async () => {
    let n = 0;
    for await (const _ of innerJobs.list({ task: TASK, states: [...ACTIVE_STATES] })) n++;
    return n;
  };
  const stats = { samples: 0, maxActive: 0, kills: 0, duplicates: 0, triggerErrors: 0, checks: 0, advances: 0 };
  const jobs = new FaultyJobStore(innerJobs, {
    isDown,
    onWrite: async () => {
      stats.samples++;
      stats.maxActive = Math.max(stats.maxActive, await activeNow());
    },
  });
  const pairs = new FaultyPairStore(new SqlitePairStore({ path: path.join(dir, 'pairs.db') }));
  pairs.failReads = true;
  Object.defineProperty(pairs, 'down', { get: isDown });
  const q = await options.makeQueue(clock, dir);

  // Triggers fired from inside a running job (the afterStep hook), and those refused by an outage.
  const armed: TriggerType[] = [];
  const retry: TriggerType[] = [];
  const accepted: { kind: TriggerType; at: number; created: boolean }[] = [];
  let chaos = true;
  let h!: Harness;

  const hook = async (job: JobRecord) => {
    const kind = armed.shift();
    if (kind) await fire(kind);
    if (!chaos) return;
    const r = random();
    if (r < 0.1) duplicate(job).catch(() => undefined);
    else if (r < 0.16) startOutage();
    else if (r < 0.36 && job.lease) {
      // The worker's process dies here: nothing it writes reaches the store again.
      stats.kills++;
      jobs.kill(job.lease.owner);
      restartWorker(randomInt(random, workers.length));
      throw new Error(`worker killed after '${job.state}' (injected)`);
    }
  };

  const startOutage = () => {
    outage.count++;
    outage.until = clock.now() + 1_000 + randomInt(random, 150_000);
  };

  const duplicate = async (job: Pick<JobRecord, 'id' | 'kind'>) => {
    stats.duplicates++;
    const body = { jobId: job.id, task: TASK, kind: job.kind };
    await q.queue.send({ messageId: job.id, body }); // same id: the queue's duplicate detection
    await q.queue.send({ messageId: `${job.id}~dup${stats.duplicates}`, body }); // a second copy
  };

  const noteResults = (results: TriggerResult[]) => {
    for (const r of results) {
      const t = r.created ? r.job.trigger : r.pending?.last;
      if (!t || /recorded while the previous job ran/.test(t.detail ?? '')) continue;
      accepted.push({ kind: t.type as TriggerType, at: clock.now(), created: r.created });
    }
  };

  let lastCheck = new Date(clock.now());
  const check = async () => {
    stats.checks++;
    try {
      if (isDown()) throw new Error('down'); // the pair writer would wait for the store (its flush, in real time)
      await h.distillery.pairWriter.flush();
      noteResults(await h.distillery.triggers.check(lastCheck));
      lastCheck = new Date(clock.now());
    } catch {
      // the store is down: the next check sees the same ticks and thresholds again
    }
  };

  const sendTraffic = async (n: number) => {
    const prompts = Array.from({ length: n }, () => pick(random, data.train).text);
    await Promise.all(
      prompts.map(async (prompt) => {
        const res = await h.distillery.app.request('/v1/chat/completions', {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: TASK, messages: [{ role: 'user', content: prompt }] }),
        });
        expect(res.status).toBe(200);
      }),
    );
    if (!isDown()) await h.distillery.pairWriter.flush();
  };

  /** One trigger of the kind, as its source would fire it; refused ones (store down) are retried later. */
  const fire = async (kind: TriggerType): Promise<void> => {
    try {
      if (kind === 'manual' || kind === 'drift') {
        const trigger = kind === 'manual' ? { type: kind, detail: 'operator' } : { type: kind, detail: 'agreement below the floor (injected)' };
        const extra = kind === 'manual' ? { tenant: 'tenant-a' } : {};
        noteResults([await h.distillery.triggers.request(TASK, trigger, extra)]);
        return;
      }
      const before = accepted.length;
      if (kind === 'threshold') await sendTraffic(THRESHOLD + randomInt(random, 20));
      else clock.advance(15 * 60_000); // crosses a schedule tick
      await check();
      if (!accepted.slice(before).some((a) => a.kind === kind)) throw new Error(`${kind} trigger did not register`);
    } catch {
      stats.triggerErrors++;
      retry.push(kind);
    }
  };

  // Workers: queue subscriptions; a killed worker's subscription is replaced by a fresh one.
  let inFlight = 0;
  const closing: Promise<void>[] = [];
  const handle = async (m: ReceivedJobMessage, o: OperationOptions) => {
    inFlight++;
    try {
      await dispatchReceived(h.distillery.dispatchJobMessage)(m, o);
    } finally {
      inFlight--;
    }
  };
  const workers: JobQueueSubscription[] = [];
  const restartWorker = (i: number) => {
    const old = workers[i]!;
    workers[i] = q.queue.subscribe(handle, { maxConcurrentCalls: 1 });
    closing.push(old.close());
  };

  h = await startHarness({
    teacher: { answer: (req) => ({ text: gold.get(String(req.body.messages.at(-1).content)) ?? 'oos', completionTokens: 2 }) },
    tasks: [
      {
        name: TASK,
        teacher: 'teacher',
        student: { source: 'registry' },
        classification: { labels: data.labels, student: { epochs: 2, seed: 3 } },
        routing: { policy: { type: 'cascade', threshold: 0.4, shadowSampleRate: 1 } },
        distill: {
          threshold: { newPairs: THRESHOLD },
          schedule: SCHEDULE,
          gate: { minAgreement: 0.5, minTestExamples: 10 },
          dataset: { minExamples: 100 },
        },
      },
    ],
    env: { DISTILLERY_JOB_MAX_DELIVERIES: '5' },
    compose: {
      clock,
      jobStore: jobs,
      jobQueue: q.queue,
      pairStore: pairs,
      jobLeaseDurationInMs: 60_000,
      jobRedeliveryDelayInMs: (n) => 5_000 * n,
      afterJobStep: hook,
    },
  });

  const idle = async () => inFlight === 0 && q.pending() === 0;
  const settle = () => waitFor('the workers to go idle', idle);
  const quiescent = async () =>
    (await idle()) && (await activeNow()) === 0 && (await innerJobs.getPendingTrigger(TASK)) === undefined && (await q.total()) === 0;

  try {
    await sendTraffic(150); // stage 1 traffic: enough pairs for a dataset
    for (let i = 0; i < 2; i++) workers.push(q.queue.subscribe(handle, { maxConcurrentCalls: 1 }));

    // The scenario: random actions at idle moments until enough triggers of every kind were taken.
    // Also until the chaos the invariants speak of happened: which random draws land where depends
    // on timing (a loaded machine moves job steps against scenario steps), so a count is not a seed's.
    const enough = () =>
      accepted.length >= options.triggers && KINDS.every((k) => accepted.some((a) => a.kind === k)) && outage.count >= 2 && stats.kills >= 2;
    for (let step = 0; !enough(); step++) {
      if (step > 2_000) throw new Error(`scenario did not take enough triggers: ${JSON.stringify(accepted)}`);
      await settle();
      if (process.env.SOAK_DEBUG) {
        const states: string[] = [];
        for await (const j of innerJobs.list({ task: TASK })) states.push(`${j.id}:${j.state}${j.lease ? '(L)' : ''}${j.resumes ? `r${j.resumes}` : ''}`);
        console.log(step, Date.now() % 100000, accepted.length, isDown(), await q.total(), states.slice(0, 3).join(' '));
      }
      if (!isDown() && retry.length) await fire(retry.shift()!);
      const r = random();
      if (r < 0.3) await fire(pick(random, KINDS));
      else if (r < 0.45) armed.push(pick(random, KINDS), ...(random() < 0.5 ? [pick(random, KINDS)] : []));
      else if (r < 0.52) startOutage();
      else if (r < 0.6) {
        const latest = await innerJobs.list({ task: TASK })[Symbol.asyncIterator]().next();
        if (!latest.done) await duplicate(latest.value);
      } else {
        stats.advances++;
        clock.advance(1_000 + randomInt(random, 90_000));
        await check();
      }
    }

    // The last trigger, then no more chaos: the loop must drain to a quiet, consistent state.
    chaos = false;
    armed.length = 0;
    outage.until = 0;
    for (const kind of retry.splice(0)) await fire(kind);
    await settle();
    await fire('manual');
    for (let round = 0; !(await quiescent()); round++) {
      if (round > 500) throw new Error('the control loop did not drain');
      await settle();
      if (await quiescent()) break;
      clock.advance(30_000);
      await check();
    }
    await Promise.all(closing);

    const all: JobRecord[] = [];
    for await (const j of innerJobs.list({ task: TASK })) all.push(j);
    const versions = [];
    for await (const v of h.distillery.registry.list(TASK)) versions.push(v);
    const lastTriggerAt = Math.max(...accepted.map((a) => a.at));
    return { all, versions, accepted, lastTriggerAt, stats, outages: outage.count, rejectedZombieWrites: jobs.rejectedZombieWrites };
  } finally {
    for (const w of workers) await w.close().catch(() => undefined);
    await h.close();
    await innerJobs.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertInvariants(result: Awaited<ReturnType<typeof runSoak>>, minTriggers: number) {
  const { all, versions, accepted, lastTriggerAt, stats } = result;
  const byState = all.reduce<Record<string, number>>((m, j) => ((m[j.state] = (m[j.state] ?? 0) + 1), m), {});
  const byKind = accepted.reduce<Record<string, number>>((m, a) => ((m[a.kind] = (m[a.kind] ?? 0) + 1), m), {});
  console.log(JSON.stringify({ jobs: all.length, byState, triggers: accepted.length, byKind, versions: versions.length, outages: result.outages, rejectedZombieWrites: result.rejectedZombieWrites, ...stats }));
  expect(accepted.length).toBeGreaterThanOrEqual(minTriggers);
  for (const k of KINDS) expect(byKind[k] ?? 0).toBeGreaterThan(0);
  // Every job ended.
  for (const j of all) expect(['succeeded', 'failed', 'cancelled'], `${j.id} ${j.state}`).toContain(j.state);
  // Never two active jobs of the task.
  expect(stats.samples).toBeGreaterThan(all.length);
  expect(stats.maxActive).toBeLessThanOrEqual(1);
  // The task re-distilled after its last trigger.
  expect(all.some((j) => Date.parse(j.createdAt) >= lastTriggerAt)).toBe(true);
  // One model version per job at most; version numbers unique.
  const jobIds = versions.map((v) => v.lineage.jobId);
  expect(new Set(versions.map((v) => v.version)).size).toBe(versions.length);
  expect(new Set(jobIds).size, `versions per job: ${jobIds.join(' ')}`).toBe(jobIds.length);
  expect(byState.succeeded ?? 0).toBeGreaterThan(0);
  // The chaos happened: workers died mid-job and their jobs were resumed by others.
  expect(stats.kills).toBeGreaterThan(1);
  expect(all.some((j) => (j.resumes ?? 0) > 0)).toBe(true);
  expect(result.outages).toBeGreaterThan(1);
}

describe('control loop soak (simulated time)', () => {
  it('SQLite queue: 20+ triggers, killed workers, store outages and duplicate deliveries leave no job behind', async () => {
    const result = await runSoak({
      seed: 15,
      triggers: 22,
      makeQueue: async (clock, dir) => {
        const file = path.join(dir, 'queue.db');
        const queue = new SqliteJobQueue({ path: file, now: clock.now, lockDurationInMs: 60_000, maxDeliveryCount: 5, retryDelayInMs: (n) => 5_000 * n, pollIntervalInMs: 10, closeTimeoutInMs: 100 });
        const db = new Database(file, { readonly: true });
        const ready = db.prepare(`SELECT COUNT(*) AS n FROM queue_messages WHERE visible_at <= ?`);
        return { queue, pending: () => (ready.get(clock.now()) as { n: number }).n, total: () => queue.countActiveMessages() };
      },
    });
    assertInvariants(result, 22);
  }, 150_000);

  describe('Service Bus queue (broker fixture)', () => {
    let broker: RunningServiceBusBroker;
    beforeAll(async () => {
      broker = await startServiceBusBroker();
    });
    afterAll(async () => {
      await broker?.stop();
    });

    it('the same scenario, smaller, through the real @azure/service-bus client', async () => {
      const result = await runSoak({
        seed: 1515,
        triggers: 12,
        // The broker schedules retries on real time: short real back-offs.
        makeQueue: async () => {
          const queueName = `soak-${randomUUID().slice(0, 8)}`;
          broker.createQueue(queueName, { lockDurationInMs: 30_000, maxDeliveryCount: 7 });
          const queue = new ServiceBusJobQueue({ connectionString: broker.connectionString, queueName, maxDeliveryCount: 5, retryDelayInMs: (n) => 20 * n, closeTimeoutInMs: 100 });
          const size = () => broker.queue(queueName).messages.size;
          return { queue, pending: size, total: async () => size() };
        },
      });
      assertInvariants(result, 12);
    }, 150_000);
  });
});
