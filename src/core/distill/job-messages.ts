import { z } from 'zod';
import type { OperationOptions, ReceivedJobMessage } from '../ports.js';
import type { JobRunner } from './job-runner.js';

// Every message on the jobs queue, whoever receives it (the Service Bus-triggered Function, the
// local worker): `job` advances a distillation job; other kinds (e.g. stage-1 chunks of dataset
// jobs) are handled by the handler registered for them. Unknown or malformed messages fail, so
// the queue dead-letters them with the reason instead of retrying forever.

export const jobMessageBodySchema = z.object({
  jobId: z.string().min(1),
  task: z.string().min(1),
  kind: z.string().min(1),
});

export type JobMessageBody = z.infer<typeof jobMessageBodySchema> & Record<string, unknown>;

export type JobMessageHandler = (body: JobMessageBody, options: OperationOptions & { deliveryCount: number }) => Promise<void>;

export function createJobMessageDispatcher(runner: JobRunner, handlers: Readonly<Record<string, JobMessageHandler>> = {}) {
  return async (body: unknown, options: OperationOptions & { deliveryCount?: number } = {}): Promise<void> => {
    const parsed = jobMessageBodySchema.passthrough().parse(body) as JobMessageBody;
    const handler = handlers[parsed.kind];
    if (handler) return handler(parsed, { ...options, deliveryCount: options.deliveryCount ?? 1 });
    // 'redistill' and 'dataset' messages both name a job to advance.
    // (A cancel request sends one too, with its own message id, so the broker does not drop it.)
    await runner.run(parsed.jobId, {
      task: parsed.task,
      ...(options.deliveryCount !== undefined ? { deliveryCount: options.deliveryCount } : {}),
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
  };
}

export type JobMessageDispatcher = ReturnType<typeof createJobMessageDispatcher>;

export const dispatchReceived = (dispatch: JobMessageDispatcher) => (message: ReceivedJobMessage, options: OperationOptions) =>
  dispatch(message.body, { ...options, deliveryCount: message.deliveryCount });
