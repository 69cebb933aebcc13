import type { JobLogEntry, JobRecord, JobState } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import type { JobSteps } from './job-steps.js';

// A job kind's pipeline: the typed steps its jobs advance through, in order. The runner knows no
// kind: it runs the step of the job's state, saves what the step returns and moves to the next
// step (after the last one the job has succeeded). Steps report progress as a fraction of their
// own share of the job; the runner maps it onto the record.

export type StepState = Exclude<JobState, 'queued' | 'succeeded' | 'failed' | 'cancelled'>;

export interface StepContext {
  abortSignal?: AbortSignal;
  /** Progress within this step (0..1); saved to the record, throttled. */
  progress(fraction: number, message?: string): Promise<void>;
  /**
   * Renews this worker's lease with an etag-guarded write, or throws when another worker took the
   * job over: called right before an effect that must happen once per job (registering a version).
   */
  renewLease?(): Promise<void>;
  /**
   * Saves part of this step's output on the record before the step ends: output that cost money
   * to make (teacher calls), so a redelivered message finds it on the record and reuses it.
   */
  saveSteps?(steps: JobSteps): Promise<void>;
}

export type StepResult =
  | {
      /** What the step leaves on the record (merged into `steps`). */
      steps?: JobSteps;
      log: { level: JobLogEntry['level']; message: string };
      /** Only the last step: promoted or rejected. */
      outcome?: JobRecord['outcome'];
    }
  /** The work runs elsewhere (queue chunks); a later message re-enters the job in this step. */
  | { wait: true; steps?: JobSteps };

export interface JobStep {
  state: StepState;
  /** The job's progress when the step starts and when it ends. */
  progress: readonly [number, number];
  run(job: JobRecord, task: TaskRuntime, context: StepContext): Promise<StepResult>;
}

export interface JobPipeline {
  kind: JobRecord['kind'];
  /** The task the job trains (configured, or built from the job's own spec). */
  taskOf(job: JobRecord): TaskRuntime | undefined;
  steps: readonly JobStep[];
}

/** The step after `state` in the pipeline, or undefined after the last one. */
export function nextStepOf(pipeline: JobPipeline, state: JobState): JobStep | undefined {
  if (state === 'queued') return pipeline.steps[0];
  const i = pipeline.steps.findIndex((s) => s.state === state);
  return i < 0 ? undefined : pipeline.steps[i + 1];
}
