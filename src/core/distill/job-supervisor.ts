import type { Clock, JobQueue, JobRecord, JobStore } from '../ports.js';
import { ACTIVE_STATES } from './job-failure.js';

// Every job must reach an end. A job whose worker stopped (killed, or its message dead-lettered
// while the store was down) keeps an expired lease, or no lease and an old last write; the
// periodic check sends it a resume message. The runner that receives it takes the job over and
// counts the resume; after its `maxResumes` the job fails with the reason. Only the message is
// sent here: the record stays its worker's to write.

export interface JobSupervisorDeps {
  jobs: JobStore;
  queue: JobQueue;
  clock: Clock;
  /** How long an active job may go without a live lease or a write before it is resumed. */
  stalledAfterInMs: number;
  log?: (message: string) => void;
}

export function isStalled(job: JobRecord, now: number, stalledAfterInMs: number): boolean {
  if (!ACTIVE_STATES.includes(job.state)) return false;
  if (job.lease) return Date.parse(job.lease.expiresAt) + stalledAfterInMs <= now;
  const since = Date.parse(job.nextRetryAt ?? job.updatedAt);
  return since + stalledAfterInMs <= Math.max(now, since);
}

export async function resumeStalledJobs(deps: JobSupervisorDeps): Promise<string[]> {
  const now = deps.clock.now();
  const resumed: string[] = [];
  for await (const job of deps.jobs.list({ states: [...ACTIVE_STATES] })) {
    if (!isStalled(job, now, deps.stalledAfterInMs)) continue;
    // One message id per silent stretch (the record's version): a duplicate check sends nothing new.
    const messageId = `${job.id}:resume:${job.etag ?? job.updatedAt}`;
    await deps.queue.send({ messageId, body: { jobId: job.id, task: job.task, kind: job.kind } });
    deps.log?.(`job ${job.id}: silent in '${job.state}' since ${job.lease?.expiresAt ?? job.updatedAt}; resume sent`);
    resumed.push(job.id);
  }
  return resumed;
}
