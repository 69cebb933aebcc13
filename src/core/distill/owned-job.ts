import { ConcurrencyError } from '../errors.js';
import type { Clock, JobLogEntry, JobRecord, JobStore } from '../ports.js';
import type { JobSteps } from './job-steps.js';

// The job record as its worker holds it. Only the lease holder writes the record; others leave
// requests (a cancel) on it through etag-guarded writes. A write that meets a stale etag re-reads
// the record and re-applies its own patch onto it — unless the lease was taken over by another
// worker (ours expired), which is the only case where this worker steps back.

export class LostLease extends Error {
  constructor(readonly latest: JobRecord | undefined) {
    super('another worker took over the job');
    this.name = 'LostLease';
  }
}

export type JobPatch = Omit<Partial<JobRecord>, 'steps' | 'log'> & { steps?: JobSteps };

export class OwnedJob {
  #record: JobRecord;
  #writes: Promise<unknown> = Promise.resolve();
  #lastProgressAt = 0;
  readonly #cancel = new AbortController();

  constructor(
    record: JobRecord,
    readonly owner: string,
    private readonly deps: { jobs: JobStore; clock: Clock; leaseDurationInMs: number },
  ) {
    this.#record = record;
  }

  get record(): JobRecord {
    return this.#record;
  }

  /** Aborts when an operator's cancel request is seen on the record. */
  get cancelSignal(): AbortSignal {
    return this.#cancel.signal;
  }

  now(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  lease(): NonNullable<JobRecord['lease']> {
    return { owner: this.owner, expiresAt: new Date(this.deps.clock.now() + this.deps.leaseDurationInMs).toISOString() };
  }

  /** Saves a patch (serialized with this worker's other writes). */
  save(patch: JobPatch, log?: Omit<JobLogEntry, 'at'>): Promise<JobRecord> {
    const write = this.#writes.then(() => this.#write(patch, log));
    this.#writes = write.catch(() => undefined);
    return write;
  }

  /** Progress, at most every 500 ms or 2 points, and never backwards. */
  async progress(value: number): Promise<void> {
    const now = this.deps.clock.now();
    if (value <= this.#record.progress) return;
    if (value - this.#record.progress < 0.02 && now - this.#lastProgressAt < 500) return;
    this.#lastProgressAt = now;
    await this.save({ progress: value });
  }

  /** Renews the lease; on a conflict the re-read also brings any cancel request. */
  heartbeat(): Promise<JobRecord> {
    return this.save({ lease: this.lease() });
  }

  async #write(patch: JobPatch, log: Omit<JobLogEntry, 'at'> | undefined): Promise<JobRecord> {
    let base = this.#record;
    for (let attempt = 0; ; attempt++) {
      const next: JobRecord = {
        ...base,
        ...patch,
        steps: { ...base.steps, ...patch.steps },
        log: log ? [...base.log, { at: this.now(), ...log }].slice(-500) : base.log,
        updatedAt: this.now(),
      };
      try {
        this.#record = await this.deps.jobs.update(next);
        this.#noticeCancel();
        return this.#record;
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || attempt >= 20) throw err;
        const latest = await this.deps.jobs.get(base.id, { task: base.task });
        if (!latest || latest.lease?.owner !== this.owner) throw new LostLease(latest);
        base = latest;
        this.#record = latest;
        this.#noticeCancel();
      }
    }
  }

  /** A cancel asked of this process (the record's request reaches other workers by heartbeat). */
  requestCancel(by?: string): void {
    if (!this.#cancel.signal.aborted) this.#cancel.abort(new JobCancelled(by));
  }

  #noticeCancel(): void {
    if (this.#record.cancelRequested && !this.#cancel.signal.aborted) this.#cancel.abort(new JobCancelled(this.#record.cancelRequested.by));
  }
}

export class JobCancelled extends Error {
  constructor(readonly by?: string) {
    super(`cancelled${by ? ` by ${by}` : ''}`);
    this.name = 'JobCancelled';
  }
}
