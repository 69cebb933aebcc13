import { ConcurrencyError, DistilleryError } from '../errors.js';
import type { Clock, JobQueue, JobRecord, JobStore } from '../ports.js';
import { isTerminal } from './job-failure.js';

// An operator's cancel. The record is its worker's to write, so a cancel is a request left on it
// (`cancelRequested`, an etag-guarded write that never touches state or lease): the worker running
// the job sees it on its next write or heartbeat, aborts the running step (trainer, stage-1
// calls) and ends the job `cancelled`. A job nobody runs (queued behind a back-off, waiting for
// stage-1 chunks) is sent a message of its own, so a worker picks it up and ends it at once.

export interface JobCancelDeps {
  jobs: JobStore;
  queue: JobQueue;
  clock: Clock;
  /** Reaches a job this process runs at once (JobRunner.cancelLocal), without waiting for a heartbeat. */
  cancelLocal?: (jobId: string, by: string) => boolean;
}

export const jobFinished = (job: JobRecord) =>
  new DistilleryError(`Job '${job.id}' already ended ${job.state}; there is nothing to cancel.`, {
    status: 409,
    type: 'conflict_error',
    code: 'job_finished',
    param: 'id',
  });

/** Asks the job to stop; returns the record with the request on it (a cancelled job as it is). */
export async function requestJobCancel(deps: JobCancelDeps, job: JobRecord, by: string): Promise<JobRecord> {
  let current = job;
  for (let attempt = 0; ; attempt++) {
    if (current.state === 'cancelled') return current;
    if (isTerminal(current.state)) throw jobFinished(current);
    if (current.cancelRequested) break; // asked before: send the message again, it is idempotent
    try {
      current = await deps.jobs.update({ ...current, cancelRequested: { at: new Date(deps.clock.now()).toISOString(), by } });
      break;
    } catch (err) {
      // The worker wrote in between: re-read and ask again (the worker re-applies its own writes too).
      if (!(err instanceof ConcurrencyError) || attempt >= 20) throw err;
      const latest = await deps.jobs.get(current.id, { task: current.task });
      if (!latest) throw err;
      current = latest;
    }
  }
  deps.cancelLocal?.(current.id, by);
  // Its own message id: the broker's duplicate detection must not drop it as the job's first message.
  await deps.queue.send({
    messageId: `${current.id}:cancel:${current.cancelRequested!.at}`,
    body: { jobId: current.id, task: current.task, kind: current.kind },
  });
  return current;
}
