import { summarizeError } from '../errors.js';
import type { Clock, JobRecord, JobStore } from '../ports.js';
import { isTerminal, JobFailure } from './job-failure.js';
import { nextStepOf, type JobPipeline, type JobStep, type StepContext } from './job-pipeline.js';
import { JobCancelled, LostLease, OwnedJob, type JobPatch } from './owned-job.js';

// The distillation job as a persisted state machine, advanced by whoever receives its message:
//   queued → <the steps of its kind's pipeline> → succeeded (promoted | rejected) | failed | cancelled
// The worker running a job holds a lease on its record (renewed by a heartbeat) and is the only
// writer of its state; a worker that finds a live lease of another steps back, one that finds an
// expired lease takes the job over (a resume; after `maxResumes` the job fails with the reason).
// Steps reuse their own earlier output (see stage2-steps.ts), so running one again is safe.

export { ACTIVE_STATES, datasetPathOf, isTerminal, JobFailure } from './job-failure.js';
export type { StepContext } from './job-pipeline.js';
export { summarizeEvaluation } from './stage2-steps.js';

export interface JobRunnerDeps {
  jobs: JobStore;
  /** The pipeline of each job kind. */
  pipelines: Readonly<Partial<Record<JobRecord['kind'], JobPipeline>>>;
  clock: Clock;
  /** How long a silent worker keeps its claim on a job (its heartbeat renews it at a third). */
  leaseDurationInMs?: number;
  /** Take-overs of a job whose worker stopped before it fails (default 3). */
  maxResumes?: number;
  /** Deliveries of a job message before the queue dead-letters it: the last one fails the job. */
  maxDeliveries?: number;
  /** Wait before delivery n+1 of a failed message, at least (shown as the job's next retry). */
  minRetryDelayInMs?: (deliveryCount: number) => number;
  /** Called once a job has ended (a follow-up job for triggers recorded while it ran). */
  onJobEnded?: (job: JobRecord) => Promise<void>;
  /** Wraps each step (telemetry spans `distillery.job.<state>`). */
  traceStep?: <T>(state: JobRecord['state'], fn: () => Promise<T>) => Promise<T>;
  /** Test hook: called after each step is saved; throwing simulates a worker dying there. */
  afterStep?: (job: JobRecord, step: JobRecord['state']) => void | Promise<void>;
  log?: (message: string) => void;
}

export interface RunOptions {
  abortSignal?: AbortSignal;
  task?: string;
  /** This delivery of the job's message (1 = first). */
  deliveryCount?: number;
}

let owners = 0;
const ownerId = (now: number) => `w${now.toString(36)}-${(++owners).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export class JobRunner {
  private readonly leaseDurationInMs: number;
  /** Jobs this process runs now, so a cancel reaches them at once (others see it by heartbeat). */
  private readonly running = new Map<string, OwnedJob>();

  constructor(private readonly deps: JobRunnerDeps) {
    this.leaseDurationInMs = deps.leaseDurationInMs ?? 60_000;
  }

  /**
   * Advances the job until it ends or waits for work elsewhere. Safe to call for a job in any
   * state, any number of times: a finished job is left alone; a job another worker holds makes
   * this call return its current record.
   */
  async run(jobId: string, options: RunOptions = {}): Promise<JobRecord | undefined> {
    const found = await this.deps.jobs.get(jobId, options.task ? { task: options.task } : {});
    if (!found) throw new JobFailure(`Job '${jobId}' does not exist.`, 'job_not_found');
    const claim = await this.acquire(found, options.deliveryCount);
    if (!(claim instanceof OwnedJob)) return claim;
    this.running.set(jobId, claim);
    const heartbeat = this.startHeartbeat(claim);
    try {
      const end = await this.advance(claim, options, heartbeat.lost);
      return end;
    } catch (err) {
      return await this.settleFailure(claim, err, options);
    } finally {
      heartbeat.stop();
      this.running.delete(jobId);
    }
  }

  /** Cancels a job this process is running (the record's cancel request reaches other workers). */
  cancelLocal(jobId: string, by?: string): boolean {
    const owned = this.running.get(jobId);
    if (!owned) return false;
    owned.requestCancel(by);
    return true;
  }

  private async acquire(job: JobRecord, deliveryCount: number | undefined): Promise<OwnedJob | JobRecord | undefined> {
    const owner = ownerId(this.deps.clock.now());
    for (let attempt = 0; attempt < 20; attempt++) {
      if (isTerminal(job.state)) return job;
      const now = this.deps.clock.now();
      if (job.lease && Date.parse(job.lease.expiresAt) > now) return job; // another worker holds it
      const claim = new OwnedJob(job, owner, { jobs: this.deps.jobs, clock: this.deps.clock, leaseDurationInMs: this.leaseDurationInMs });
      // A lease left behind means its worker stopped without letting go: this is a resume.
      const resumes = (job.resumes ?? 0) + (job.lease ? 1 : 0);
      try {
        const record = await this.deps.jobs.update({
          ...job,
          lease: claim.lease(),
          resumes,
          ...(deliveryCount !== undefined ? { deliveries: deliveryCount } : {}),
          nextRetryAt: undefined, // the retry is this run
          updatedAt: claim.now(),
        });
        return new OwnedJob(record, owner, { jobs: this.deps.jobs, clock: this.deps.clock, leaseDurationInMs: this.leaseDurationInMs });
      } catch (err) {
        if (!(err instanceof Error) || err.name !== 'ConcurrencyError') throw err;
        const latest = await this.deps.jobs.get(job.id, { task: job.task });
        if (!latest) return undefined;
        job = latest;
      }
    }
    return job;
  }

  private startHeartbeat(owned: OwnedJob) {
    const lost = new AbortController();
    const timer = setInterval(() => {
      owned.heartbeat().catch((err: unknown) => {
        if (err instanceof LostLease) lost.abort(err);
      });
    }, Math.max(20, Math.floor(this.leaseDurationInMs / 3)));
    timer.unref?.();
    return { lost: lost.signal, stop: () => clearInterval(timer) };
  }

  private pipelineOf(job: JobRecord): JobPipeline {
    const pipeline = this.deps.pipelines[job.kind];
    if (!pipeline) throw new JobFailure(`No pipeline runs '${job.kind}' jobs in this deployment.`, 'pipeline_unavailable');
    return pipeline;
  }

  private async advance(owned: OwnedJob, options: RunOptions, lost: AbortSignal): Promise<JobRecord> {
    const maxResumes = this.deps.maxResumes ?? 3;
    if ((owned.record.resumes ?? 0) > maxResumes) {
      throw new JobFailure(
        `The job stopped advancing in '${owned.record.state}' ${owned.record.resumes} times (its worker went silent beyond its lease); giving up after ${maxResumes} resumes.`,
        'job_stalled',
      );
    }
    const pipeline = this.pipelineOf(owned.record);
    while (!isTerminal(owned.record.state)) {
      options.abortSignal?.throwIfAborted();
      if (owned.record.cancelRequested) throw new JobCancelled(owned.record.cancelRequested.by);
      if (lost.aborted) throw new LostLease(undefined);
      const from = owned.record.state;
      if (from === 'queued') await this.start(owned, pipeline);
      else {
        const step = pipeline.steps.find((s) => s.state === from);
        if (!step) throw new JobFailure(`'${owned.record.kind}' jobs have no step '${from}'.`, 'invalid_job_state');
        const waiting = await this.runStep(owned, pipeline, step, options, lost);
        if (waiting) return await owned.save({ lease: undefined });
      }
      await this.deps.afterStep?.(owned.record, from);
    }
    await this.ended(owned.record);
    return owned.record;
  }

  private async start(owned: OwnedJob, pipeline: JobPipeline): Promise<void> {
    const first = pipeline.steps[0];
    if (!first) throw new JobFailure(`The '${pipeline.kind}' pipeline has no steps.`, 'pipeline_unavailable');
    const t = owned.record.trigger;
    await owned.save(
      { state: first.state, startedAt: owned.record.startedAt ?? owned.now(), progress: first.progress[0] },
      { level: 'info', message: `started (trigger: ${t.type}${t.detail ? `, ${t.detail}` : ''})` },
    );
  }

  /** Runs one step and saves its result; true when the step waits for work elsewhere. */
  private async runStep(owned: OwnedJob, pipeline: JobPipeline, step: JobStep, options: RunOptions, lost: AbortSignal): Promise<boolean> {
    const task = pipeline.taskOf(owned.record);
    if (!task) throw new JobFailure(`Task '${owned.record.task}' is not configured.`, 'task_not_found');
    const signals = [owned.cancelSignal, lost, ...(options.abortSignal ? [options.abortSignal] : [])];
    const [lo, hi] = step.progress;
    const context: StepContext = {
      abortSignal: AbortSignal.any(signals),
      progress: (fraction) => owned.progress(lo + (hi - lo) * Math.min(1, Math.max(0, fraction))),
      renewLease: () => owned.heartbeat().then(() => undefined),
      saveSteps: (steps) => owned.save({ steps }).then(() => undefined),
    };
    const work = () => step.run(owned.record, task, context);
    const result = this.deps.traceStep ? await this.deps.traceStep(step.state, work) : await work();
    if ('wait' in result) return true;
    const next = nextStepOf(pipeline, step.state);
    const patch: JobPatch = next
      ? { state: next.state, progress: hi, ...(result.steps ? { steps: result.steps } : {}) }
      : { state: 'succeeded', progress: 1, finishedAt: owned.now(), lease: undefined, ...(result.outcome ? { outcome: result.outcome } : {}), ...(result.steps ? { steps: result.steps } : {}) };
    await owned.save(patch, result.log);
    return false;
  }

  /** Ends the job failed or cancelled when the error says so; otherwise lets the queue retry. */
  private async settleFailure(owned: OwnedJob, err: unknown, options: RunOptions): Promise<JobRecord | undefined> {
    const job = owned.record;
    if (err instanceof LostLease) {
      this.deps.log?.(`job ${job.id}: another worker took it over; stepping back`);
      return err.latest ?? (await this.deps.jobs.get(job.id, { task: job.task }));
    }
    const cancelled = err instanceof JobCancelled || owned.cancelSignal.aborted;
    if (cancelled) {
      const reason = err instanceof JobCancelled ? err : owned.cancelSignal.reason;
      const by = job.cancelRequested?.by ?? (reason instanceof JobCancelled ? reason.by : undefined);
      return this.end(owned, { state: 'cancelled', error: { code: 'cancelled', message: `Cancelled${by ? ` by ${by}` : ''} in '${job.state}'.` } }, 'warn');
    }
    if (err instanceof JobFailure) return this.end(owned, { state: 'failed', error: { code: err.code, message: err.message } }, 'error');
    const summary = summarizeError(err);
    const delivery = options.deliveryCount ?? 1;
    if (!options.abortSignal?.aborted && delivery >= (this.deps.maxDeliveries ?? Infinity)) {
      // The queue dead-letters this message now: the job must not stay active without one.
      const message = `Gave up after ${delivery} deliveries of its message (dead-lettered); last error: ${summary.message}`;
      await this.end(owned, { state: 'failed', error: { code: 'dead_lettered', message } }, 'error').catch(() => undefined);
      throw err;
    }
    // Store down, worker stopping, upstream unreachable: the message is redelivered after a back-off.
    const retryInMs = this.deps.minRetryDelayInMs?.(delivery);
    await owned
      .save({
        lease: undefined,
        lastError: { code: summary.code, message: summary.message, at: owned.now() },
        ...(retryInMs !== undefined && !options.abortSignal?.aborted ? { nextRetryAt: new Date(this.deps.clock.now() + retryInMs).toISOString() } : {}),
      })
      .catch(() => undefined);
    throw err;
  }

  private async end(owned: OwnedJob, patch: Pick<JobPatch, 'state' | 'error'>, level: 'warn' | 'error'): Promise<JobRecord> {
    const record = await owned.save({ ...patch, finishedAt: owned.now(), lease: undefined }, { level, message: patch.error!.message });
    await this.ended(record);
    return record;
  }

  private async ended(job: JobRecord): Promise<void> {
    try {
      await this.deps.onJobEnded?.(job);
    } catch (err) {
      // The periodic trigger check starts the follow-up job instead.
      this.deps.log?.(`job ${job.id}: could not start its follow-up job: ${(err as Error).message}`);
    }
  }
}
