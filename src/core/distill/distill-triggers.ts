import { ConcurrencyError } from '../errors.js';
import type { Clock, JobQueue, JobRecord, JobStore, PairStore } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import type { CanaryController } from './canary.js';
import { ACTIVE_STATES } from './job-runner.js';

// What starts a distillation job: a threshold of new pairs, a schedule, drift in student–teacher
// agreement, or a person. Whatever the trigger, a task has at most one active job: a trigger that
// fires while one runs is written to that job's log instead of queueing a second job. Job ids are
// `${task}.${n}`, n counting the task's jobs, so two triggers racing for the same slot collide on
// create and only one wins.

export type TriggerType = JobRecord['trigger']['type'];

export interface TriggerResult {
  job: JobRecord;
  created: boolean;
}

export interface DistillTriggerDeps {
  jobs: JobStore;
  pairs: PairStore;
  queue: JobQueue;
  tasks: { get(name: string): TaskRuntime | undefined; list(): TaskRuntime[] };
  clock: Clock;
  /** Last tick of an NCRONTAB expression at or before `now` (adapter: cron-parser). */
  previousCronTick?: (expression: string, now: Date) => Date | undefined;
  /** Canary ramps are advanced or rolled back on the same cadence as the triggers. */
  canary?: CanaryController;
}

export class DistillTriggers {
  constructor(private readonly deps: DistillTriggerDeps) {}

  private now() {
    return new Date(this.deps.clock.now()).toISOString();
  }

  private async jobsOf(task: string): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for await (const j of this.deps.jobs.list({ task })) out.push(j);
    return out;
  }

  /** Queues a job for the task unless one is active; records the trigger either way. */
  async request(
    task: string,
    trigger: JobRecord['trigger'],
    extra: { kind?: JobRecord['kind']; spec?: unknown; tenant?: string } = {},
  ): Promise<TriggerResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const jobs = await this.jobsOf(task);
      const active = jobs.find((j) => ACTIVE_STATES.includes(j.state));
      if (active) {
        try {
          const updated = await this.deps.jobs.update({
            ...active,
            updatedAt: this.now(),
            log: [...active.log, { at: this.now(), level: 'info' as const, message: `${trigger.type} trigger recorded while this job runs${trigger.detail ? ` (${trigger.detail})` : ''}; not queued twice` }].slice(-500),
          });
          return { job: updated, created: false };
        } catch (err) {
          if (err instanceof ConcurrencyError) continue;
          throw err;
        }
      }
      const seq = jobs.reduce((max, j) => Math.max(max, Number(j.id.slice(task.length + 1)) || 0), 0) + 1;
      const now = this.now();
      const job: JobRecord = {
        id: `${task}.${seq}`,
        task,
        kind: extra.kind ?? 'redistill',
        state: 'queued',
        trigger,
        progress: 0,
        createdAt: now,
        updatedAt: now,
        steps: { counterAtStart: await this.deps.pairs.getCounter(task) },
        log: [{ at: now, level: 'info', message: `queued by ${trigger.type} trigger${trigger.detail ? ` (${trigger.detail})` : ''}` }],
        ...(extra.spec !== undefined ? { spec: extra.spec } : {}),
        ...(extra.tenant ? { tenant: extra.tenant } : {}),
      };
      let created: JobRecord;
      try {
        created = await this.deps.jobs.create(job);
      } catch (err) {
        if (err instanceof ConcurrencyError) continue; // another trigger took this slot: look again
        throw err;
      }
      await this.deps.queue.send({ messageId: created.id, body: { jobId: created.id, task, kind: created.kind } });
      return { job: created, created: true };
    }
    throw new ConcurrencyError(`Could not queue a job for '${task}': too many concurrent triggers.`);
  }

  /** New pairs since the last job that did not fail (or since the beginning). */
  async newPairsSinceLastJob(task: string): Promise<number> {
    const counter = await this.deps.pairs.getCounter(task);
    const last = (await this.jobsOf(task)).find((j) => j.state !== 'failed');
    const counted = (v: unknown) => (typeof v === 'number' ? v : 0);
    // Dataset jobs add their own stage-1 pairs: count from after them, not from the job's start.
    const base = Math.max(counted(last?.steps.counterAtStart), counted(last?.steps.counterAfterGeneration));
    return counter - base;
  }

  /**
   * Rolling agreement over the newest `window` pairs where both arms answered, since `since`
   * (the end of the last job: older pairs judged an older student). Without it, the last 30 days.
   */
  async rollingAgreement(task: TaskRuntime, window: number, since?: string): Promise<{ agreement: number; n: number }> {
    const ring: number[] = [];
    since ??= new Date(this.deps.clock.now() - 30 * 24 * 3600_000).toISOString();
    for await (const p of this.deps.pairs.list({ task: task.config.name, since, sourceKind: 'traffic' })) {
      if (!p.teacher?.text || p.teacher.error || p.student?.text === undefined || p.student.error) continue;
      const agree = task.parseLabel
        ? p.labels?.teacher != null && p.labels.teacher === p.labels.student
        : normalize(p.teacher.text) === normalize(p.student.text);
      ring.push(agree ? 1 : 0);
      if (ring.length > window) ring.shift();
    }
    return { agreement: ring.length ? ring.reduce((a, b) => a + b, 0) / ring.length : 1, n: ring.length };
  }

  /**
   * The periodic check (the timer Function, the local scheduler): threshold, schedule and drift
   * for every task. `lastCheck` is when the previous check ran (schedule ticks in between fire).
   */
  async check(lastCheck: Date | undefined): Promise<TriggerResult[]> {
    const now = new Date(this.deps.clock.now());
    const results: TriggerResult[] = [];
    await this.deps.canary?.evaluate();
    for (const task of this.deps.tasks.list()) {
      const s = task.config.distill;
      const name = task.config.name;
      if (!s.enabled) continue;
      if (s.threshold) {
        const fresh = await this.newPairsSinceLastJob(name);
        if (fresh >= s.threshold.newPairs) {
          results.push(await this.request(name, { type: 'threshold', detail: `${fresh} new pairs ≥ ${s.threshold.newPairs}` }));
          continue;
        }
      }
      if (s.schedule && this.deps.previousCronTick && lastCheck) {
        const tick = this.deps.previousCronTick(s.schedule, now);
        if (tick && tick > lastCheck) {
          results.push(await this.request(name, { type: 'schedule', detail: `${s.schedule} at ${tick.toISOString()}` }));
          continue;
        }
      }
      if (s.drift) {
        const lastFinished = (await this.jobsOf(name)).find((j) => j.finishedAt && j.state === 'succeeded')?.finishedAt;
        const { agreement, n } = await this.rollingAgreement(task, s.drift.window, lastFinished);
        if (n >= s.drift.window && agreement < s.drift.minAgreement) {
          results.push(await this.request(name, { type: 'drift', detail: `agreement ${agreement.toFixed(3)} < ${s.drift.minAgreement} over ${n} pairs` }));
        }
      }
    }
    return results;
  }
}

const normalize = (t: string) => t.toLowerCase().replace(/\s+/g, ' ').trim();
