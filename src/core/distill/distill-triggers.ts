import { ConcurrencyError, summarizeError } from '../errors.js';
import type { Clock, JobQueue, JobRecord, JobStore, PairStore, PendingTrigger } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import { pairAgreement } from '../pairs/pair-agreement.js';
import { pairProvenance } from '../pairs/pair-provenance.js';
import { DRIFT_CONFIDENCE } from '../eval/agreement-estimates.js';
import { wilsonInterval, type Interval } from '../eval/statistics.js';
import type { CanaryController } from './canary.js';
import { ACTIVE_STATES } from './job-failure.js';
import { resumeStalledJobs } from './job-supervisor.js';
import { OPERATOR_TENANT } from './tenant-scope.js';

// What starts a distillation job: a threshold of new pairs, a schedule, drift in student–teacher
// agreement, or a person. Whatever the trigger, a task has at most one active job. A trigger that
// fires while one runs never writes into that job (its worker owns the record): it is recorded
// beside it as the task's pending request (coalesced), and when the job ends the runner — or,
// if it died first, the next periodic check — starts one follow-up job for it. Job ids are
// `${task}.${n}`, n counting the task's jobs, so two triggers racing for the same slot collide on
// create and only one wins.

export type TriggerType = JobRecord['trigger']['type'];

export interface TriggerResult {
  job: JobRecord;
  created: boolean;
  /** When not created: the task's pending request this trigger was coalesced into. */
  pending?: PendingTrigger;
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
  /**
   * Checks a re-distillation can run before it is queued (job-preflight.ts: the student target);
   * a failing check makes the job `failed` at once with the reason, instead of failing hours later.
   */
  preflight?: (task: TaskRuntime) => Promise<void>;
  /** An active job silent this long past its lease (or its last write) is sent a resume message. */
  stalledAfterInMs?: number;
  log?: (message: string) => void;
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
        // A dataset spec is its own job, not a re-distillation: the caller refuses it (409).
        if (extra.kind === 'dataset') return { job: active, created: false };
        const pending = await this.deps.jobs.recordPendingTrigger(task, { ...trigger, at: this.now(), ...(extra.tenant ? { tenant: extra.tenant } : {}) });
        // The job may have ended between our read and the record: then nobody would pick it up.
        const now = await this.deps.jobs.get(active.id, { task });
        if (now && ACTIVE_STATES.includes(now.state)) return { job: now, created: false, pending };
        const started = await this.startPending(task);
        if (started) return started;
        continue;
      }
      const refused = await this.preflight(task, extra.kind ?? 'redistill');
      // An automatic trigger does not pile up failed jobs while the same check keeps failing.
      if (refused && trigger.type !== 'manual' && isRecentPreflightFailure(jobs[0], this.deps.clock.now())) return { job: jobs[0]!, created: false };
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
        log: [
          { at: now, level: 'info', message: `queued by ${trigger.type} trigger${trigger.detail ? ` (${trigger.detail})` : ''}` },
          ...(refused ? [{ at: now, level: 'error' as const, message: `preflight: ${refused.message}` }] : []),
        ],
        ...(refused ? { state: 'failed' as const, finishedAt: now, error: refused } : {}),
        ...(extra.spec !== undefined ? { spec: extra.spec } : {}),
        // The creating tenant, or the operator's '*' for system triggers (tenant-scope.ts).
        tenant: extra.tenant || OPERATOR_TENANT,
      };
      let created: JobRecord;
      try {
        created = await this.deps.jobs.create(job);
      } catch (err) {
        if (err instanceof ConcurrencyError) continue; // another trigger took this slot: look again
        throw err;
      }
      if (!refused) await this.deps.queue.send({ messageId: created.id, body: { jobId: created.id, task, kind: created.kind } });
      return { job: created, created: true };
    }
    throw new ConcurrencyError(`Could not queue a job for '${task}': too many concurrent triggers.`);
  }

  /** The reason a re-distillation of the task cannot run now, if its preflight says so. */
  private async preflight(task: string, kind: JobRecord['kind']): Promise<{ code: string; message: string } | undefined> {
    const runtime = this.deps.tasks.get(task);
    if (kind !== 'redistill' || !this.deps.preflight || !runtime) return undefined;
    try {
      await this.deps.preflight(runtime);
      return undefined;
    } catch (err) {
      const { code, message } = summarizeError(err);
      return { code: PREFLIGHT_CODE_PREFIX + code, message };
    }
  }

  /**
   * Starts the follow-up job for triggers recorded while the task's last job ran, if any and no
   * job is active; the coalesced triggers are named in the new job's trigger detail.
   */
  async startPending(task: string): Promise<TriggerResult | undefined> {
    const jobs = await this.jobsOf(task);
    if (jobs.some((j) => ACTIVE_STATES.includes(j.state))) return undefined;
    // Read, create the follow-up, then take: a store failure in between leaves the request recorded
    // (at worst one more follow-up later), never lost.
    const pending = await this.deps.jobs.getPendingTrigger(task);
    if (!pending) return undefined;
    const { first, last, count } = pending;
    const detail = `${count} trigger${count === 1 ? '' : 's'} recorded while the previous job ran: first ${first.type}${first.detail ? ` (${first.detail})` : ''} at ${first.at}${count > 1 ? `, last ${last.type}${last.detail ? ` (${last.detail})` : ''} at ${last.at}` : ''}`;
    // The follow-up belongs to the tenant who asked first (or last, when the first was the system's).
    const tenant = first.tenant ?? last.tenant;
    const result = await this.request(task, { type: first.type, detail }, tenant ? { tenant } : {});
    if (result.created) await this.deps.jobs.takePendingTrigger(task);
    return result;
  }

  /** New pairs since the last job that did not fail (or since the beginning). */
  async newPairsSinceLastJob(task: string): Promise<number> {
    const counter = await this.deps.pairs.getCounter(task);
    const last = (await this.jobsOf(task)).find((j) => j.state !== 'failed' && j.state !== 'cancelled');
    const counted = (v: unknown) => (typeof v === 'number' ? v : 0);
    // Dataset jobs add their own stage-1 pairs: count from after them, not from the job's start.
    const base = Math.max(counted(last?.steps.counterAtStart), counted(last?.steps.counterAfterGeneration));
    return counter - base;
  }

  /**
   * Student quality for the drift check: agreement (pairAgreement) over the newest `window` pairs
   * of the random shadow sample since `since` (the end of the last job: older pairs judged an
   * older student; without it, the last 30 days). Escalated pairs are the student's hardest
   * prompts, so they are tallied apart and never enter the drift estimate (#15 row 7).
   */
  async rollingAgreement(task: TaskRuntime, window: number, since?: string): Promise<DriftSample> {
    const ring: number[] = [];
    const escalation = { n: 0, agreements: 0 };
    since ??= new Date(this.deps.clock.now() - 30 * 24 * 3600_000).toISOString();
    for await (const p of this.deps.pairs.list({ task: task.config.name, since, sourceKind: 'traffic' })) {
      const verdict = pairAgreement(p, task);
      if (verdict === 'not_comparable') continue;
      const why = pairProvenance(p);
      if (why.escalated) {
        escalation.n++;
        if (verdict === 'agree') escalation.agreements++;
      }
      if (!why.randomShadow) continue;
      ring.push(verdict === 'agree' ? 1 : 0);
      if (ring.length > window) ring.shift();
    }
    const agreements = ring.reduce((a, b) => a + b, 0);
    return {
      agreement: ring.length ? agreements / ring.length : 1,
      n: ring.length,
      interval: ring.length ? wilsonInterval(agreements, ring.length, DRIFT_CONFIDENCE) : null,
      escalation,
    };
  }

  /**
   * The periodic check (the timer Function, the local scheduler): threshold, schedule and drift
   * for every task. `lastCheck` is when the previous check ran (schedule ticks in between fire).
   */
  async check(lastCheck: Date | undefined): Promise<TriggerResult[]> {
    const now = new Date(this.deps.clock.now());
    const results: TriggerResult[] = [];
    await this.deps.canary?.evaluate();
    await resumeStalledJobs({ ...this.deps, stalledAfterInMs: this.deps.stalledAfterInMs ?? 5 * 60_000 });
    for (const task of this.deps.tasks.list()) {
      const s = task.config.distill;
      const name = task.config.name;
      // Triggers recorded beside a job whose worker died before starting the follow-up.
      const followUp = await this.startPending(name);
      if (followUp) {
        results.push(followUp);
        continue;
      }
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
        const sample = await this.rollingAgreement(task, s.drift.window, lastFinished);
        if (driftFires(sample, s.drift)) {
          results.push(await this.request(name, { type: 'drift', detail: driftDetail(sample, s.drift.minAgreement) }));
        }
      }
    }
    return results;
  }
}

const PREFLIGHT_CODE_PREFIX = 'preflight_';
const isRecentPreflightFailure = (job: JobRecord | undefined, now: number) =>
  job?.state === 'failed' && job.error?.code.startsWith(PREFLIGHT_CODE_PREFIX) === true && now - Date.parse(job.createdAt) < 3600_000;

export interface DriftSample {
  /** Student quality: agreement on the random shadow sample in the window (1 when it is empty). */
  agreement: number;
  /** Random-shadow pairs in the window (at most `window`). */
  n: number;
  interval: Interval | null;
  /** Escalated pairs since the student took over: reported beside, never used to fire. */
  escalation: { n: number; agreements: number };
}

/**
 * Drift fires when the window is full of random-shadow pairs (n ≥ window, the minimum sample
 * size) and even the one-sided 95% upper bound of student quality is below the floor: a student
 * that merely looks worse by chance on a small sample does not trigger a paid job.
 */
export function driftFires(sample: DriftSample, drift: { window: number; minAgreement: number }): boolean {
  return sample.n >= drift.window && sample.interval !== null && sample.interval.upper < drift.minAgreement;
}

function driftDetail(sample: DriftSample, floor: number): string {
  const esc = sample.escalation;
  return (
    `agreement ${sample.agreement.toFixed(3)} < ${floor} over ${sample.n} pairs of the random shadow sample ` +
    `(one-sided 95% upper bound ${sample.interval!.upper.toFixed(3)}); escalation agreement ` +
    `${esc.n ? (esc.agreements / esc.n).toFixed(3) : 'n/a'} over ${esc.n} escalated pairs, not used`
  );
}
