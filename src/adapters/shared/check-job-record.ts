import { invalidRequest } from '../../core/errors.js';
import type { JobQuery, JobRecord, JobState } from '../../core/ports.js';
import { canonicalTime, checkKey } from './check-pair-record.js';

// The checks every JobStore adapter applies before it writes (SQLite and Cosmos alike), so a bad
// job is refused with a typed error instead of being stored half-formed.

export const JOB_STATES: readonly JobState[] = [
  'queued',
  'building_dataset',
  'generating',
  'training',
  'evaluating',
  'succeeded',
  'failed',
  'cancelled',
];

export function checkJobRecord(job: JobRecord): void {
  if (job === null || typeof job !== 'object') throw invalidRequest('A job record must be an object.', 'job');
  checkKey(job.id, 'id');
  checkKey(job.task, 'task', 128);
  if (job.tenant !== undefined) checkKey(job.tenant, 'tenant', 128);
  if (!JOB_STATES.includes(job.state)) throw invalidRequest(`Unknown job state '${String(job.state)}'.`, 'state');
  if (job.kind !== 'redistill' && job.kind !== 'dataset') throw invalidRequest("kind must be 'redistill' or 'dataset'.", 'kind');
  canonicalTime(job.createdAt, 'createdAt');
  canonicalTime(job.updatedAt, 'updatedAt');
  if (typeof job.progress !== 'number' || !(job.progress >= 0 && job.progress <= 1)) {
    throw invalidRequest('progress must be a number in [0, 1].', 'progress');
  }
  if (job.trigger === null || typeof job.trigger !== 'object' || typeof job.trigger.type !== 'string') {
    throw invalidRequest('trigger.type is required.', 'trigger');
  }
  if (job.steps === null || typeof job.steps !== 'object') throw invalidRequest('steps must be an object.', 'steps');
  if (!Array.isArray(job.log)) throw invalidRequest('log must be an array.', 'log');
}

export function checkJobQuery(query: JobQuery | undefined): JobQuery {
  const q = query ?? {};
  if (q === null || typeof q !== 'object') throw invalidRequest('A job query must be an object.', 'query');
  if (q.task !== undefined) checkKey(q.task, 'task', 128);
  if (q.tenant !== undefined) checkKey(q.tenant, 'tenant', 128);
  if (q.states !== undefined) {
    if (!Array.isArray(q.states)) throw invalidRequest('states must be an array.', 'states');
    for (const s of q.states) if (!JOB_STATES.includes(s)) throw invalidRequest(`Unknown job state '${String(s)}'.`, 'states');
  }
  return q;
}

/** Serializes a job without its etag (the store owns the etag). */
export function serializeJob(job: JobRecord): string {
  const { etag: _etag, ...rest } = job;
  try {
    return JSON.stringify(rest);
  } catch (err) {
    throw invalidRequest(`Job '${job.id}' is not serializable: ${(err as Error).message}`, 'job');
  }
}
