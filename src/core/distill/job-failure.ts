import { DistilleryError } from '../errors.js';
import type { JobRecord, JobState } from '../ports.js';

// What every step may throw to end its job `failed` with a reason (anything else is retried by
// the queue), and the few facts about job states that triggers, runner and routes share.

export class JobFailure extends DistilleryError {
  constructor(message: string, code = 'job_failed') {
    super(message, { status: 422, type: 'invalid_request_error', code });
  }
}

export const ACTIVE_STATES: readonly JobState[] = ['queued', 'generating', 'building_dataset', 'training', 'evaluating'];
export const isTerminal = (s: JobState) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export const datasetPathOf = (job: Pick<JobRecord, 'task' | 'id'>) => `datasets/${job.task}/${job.id}`;
