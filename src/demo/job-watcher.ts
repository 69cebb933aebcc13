import type { JobRecord } from '../core/ports.js';
import type { DemoOutput } from './demo-output.js';
import type { DemoTarget } from './demo-target.js';

// Follows the demo task's distillation jobs through the admin API from the first request on, and
// prints each one as it advances: every state it enters (building_dataset → training →
// evaluating → succeeded / failed), its progress in tenths, and every line of its log, so a
// job that starts and ends while traffic still flows is shown as it happened.

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export type JobView = Omit<JobRecord, 'etag'>;

interface Seen {
  state: string;
  tenth: number;
  logLines: number;
}

export class JobWatcher {
  readonly #seen = new Map<string, Seen>();
  readonly #before = new Set<string>();
  readonly #latest = new Map<string, JobView>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;
  #error: unknown;
  /** The states each new job was seen in, in order (tests and the summary read it). */
  readonly states = new Map<string, string[]>();

  constructor(
    private readonly target: DemoTarget,
    private readonly task: string,
    private readonly out: DemoOutput,
    private readonly intervalInMs = 300,
  ) {}

  /** Remembers the jobs that exist already (earlier runs), then polls. */
  async start(): Promise<void> {
    for (const j of await this.#list()) this.#before.add(j.id);
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Jobs created since the watch started, oldest first. */
  newJobs(): JobView[] {
    return [...this.#latest.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Polls now (between the timer's polls). */
  async poll(): Promise<void> {
    this.#polling ??= this.#pollOnce().finally(() => (this.#polling = undefined));
    await this.#polling;
    if (this.#error) throw this.#error;
  }

  /** Resolves when the job is terminal, with its last record. */
  async waitForEnd(id: string, timeoutInMs: number): Promise<JobView> {
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      await this.poll();
      const job = this.#latest.get(id);
      if (job && TERMINAL.has(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`Job ${id} did not finish within ${Math.round(timeoutInMs / 60_000)} minutes (last state: ${job?.state ?? 'unknown'}).`);
      await new Promise((r) => setTimeout(r, this.intervalInMs));
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.poll().then(
        () => this.#schedule(),
        () => this.#schedule(),
      );
    }, this.intervalInMs);
  }

  async #list(): Promise<JobView[]> {
    const { data } = await this.target.admin<{ data: JobView[] }>('GET', `/admin/jobs?task=${encodeURIComponent(this.task)}&limit=10`);
    return data;
  }

  async #pollOnce(): Promise<void> {
    let jobs: JobView[];
    try {
      jobs = await this.#list();
      this.#error = undefined;
    } catch (err) {
      this.#error = err;
      return;
    }
    for (const job of jobs.reverse()) {
      if (this.#before.has(job.id)) continue;
      this.#latest.set(job.id, job);
      this.#report(job);
    }
  }

  #report(job: JobView): void {
    const seen = this.#seen.get(job.id) ?? { state: '', tenth: -1, logLines: 0 };
    if (!this.#seen.has(job.id)) this.out.line(`   job ${job.id}: created by the ${job.trigger.type} trigger${job.trigger.detail ? ` (${job.trigger.detail})` : ''}`);
    // The log first (it says what each step did), then where the job stands now.
    for (const entry of job.log.slice(seen.logLines)) this.out.line(`   job ${job.id}:   ${entry.message}`);
    seen.logLines = Math.max(seen.logLines, job.log.length);
    const tenth = Math.floor(job.progress * 10);
    if (job.state !== seen.state || tenth !== seen.tenth) {
      const outcome = job.state === 'succeeded' && job.outcome ? ` → ${job.outcome}` : '';
      this.out.line(`   job ${job.id}: ${job.state.padEnd(16)} ${String(Math.round(job.progress * 100)).padStart(3)}%${outcome}`);
      if (job.state !== seen.state) this.states.set(job.id, [...(this.states.get(job.id) ?? []), job.state]);
    }
    this.#seen.set(job.id, { ...seen, state: job.state, tenth });
  }
}
