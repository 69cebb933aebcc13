import { invalidRequest } from '../../core/errors.js';
import type { JobMessage, JobQueueSendOptions } from '../../core/ports.js';
import { checkKey } from './check-pair-record.js';

// The checks every JobQueue adapter applies to a message before sending (SQLite and Service Bus
// alike): a message that could not be handled is refused at the sender, never dead-lettered later.

export function checkJobMessage(message: JobMessage, options?: JobQueueSendOptions): string {
  if (message === null || typeof message !== 'object') throw invalidRequest('A job message must be an object.', 'message');
  checkKey(message.messageId, 'messageId', 128);
  const body = message.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidRequest('message.body must be an object.', 'body');
  checkKey(body.jobId, 'body.jobId');
  checkKey(body.task, 'body.task', 128);
  if (typeof body.kind !== 'string' || body.kind.length === 0) throw invalidRequest('body.kind must be a non-empty string.', 'body.kind');
  if (options?.scheduledAt !== undefined && !(options.scheduledAt instanceof Date && Number.isFinite(options.scheduledAt.getTime()))) {
    throw invalidRequest('scheduledAt must be a valid Date.', 'scheduledAt');
  }
  try {
    return JSON.stringify(body);
  } catch (err) {
    throw invalidRequest(`message.body is not serializable: ${(err as Error).message}`, 'body');
  }
}

/** What a dead-lettered message looks like to operators (and to the contract tests). */
export interface DeadLetteredJobMessage {
  messageId: string;
  body: JobMessage['body'];
  deliveryCount: number;
  reason: string;
  description?: string;
}

/** The text stored as a dead-letter reason for a handler failure (never a stack trace). */
export function failureDescription(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 1024 ? `${text.slice(0, 1021)}...` : text;
}
