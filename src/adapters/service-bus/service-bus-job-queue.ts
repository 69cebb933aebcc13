import type { TokenCredential } from '@azure/identity';
import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusSender,
} from '@azure/service-bus';
import Long from 'long';
import { DistilleryError, invalidRequest } from '../../core/errors.js';
import type {
  JobMessage,
  JobQueue,
  JobQueueSendOptions,
  JobQueueSubscription,
  OperationOptions,
  ReceivedJobMessage,
} from '../../core/ports.js';
import { checkJobMessage, failureDescription, type DeadLetteredJobMessage } from '../shared/check-job-message.js';
import { checkKey } from '../shared/check-pair-record.js';

// JobQueue on Azure Service Bus. The message id is the job id, so a queue with duplicate detection
// drops a job sent twice; the job store's etag makes a second run a no-op where it does not.
// Receiving is peek-lock with the SDK's automatic lock renewal (training can take a while):
// the handler resolving completes the message, throwing abandons it (the broker counts the
// delivery), and on the last allowed delivery it is dead-lettered with the error as its reason.
// Delayed sends use scheduled messages.

export type ServiceBusConnection =
  | { connectionString: string }
  | { fullyQualifiedNamespace: string; credential: TokenCredential }
  | { client: ServiceBusClient };

export type ServiceBusJobQueueOptions = ServiceBusConnection & {
  queueName: string;
  /** Deliveries after which a failing job is dead-lettered (keep it at or below the queue's MaxDeliveryCount). */
  maxDeliveryCount?: number;
  /** How long the SDK keeps renewing the lock of a running job. */
  maxAutoLockRenewalDurationInMs?: number;
  /** How long close() waits for running handlers before leaving their messages to the broker. */
  closeTimeoutInMs?: number;
  /**
   * Wait before a failed job is delivered again (0: abandon, redelivered at once). A delayed retry
   * is a scheduled copy of the message (with its own message id, so duplicate detection keeps it)
   * carrying the original id and the attempts so far; the original is then completed.
   */
  retryDelayInMs?: number | ((deliveryCount: number) => number);
  /** Receives connection and link errors (the SDK retries them); for logging. */
  onError?: (error: unknown) => void;
};

const ORIGINAL_ID = 'distillery-message-id';
const ATTEMPTS = 'distillery-attempts';

const queueError = (what: string, err: unknown) =>
  err instanceof DistilleryError
    ? err
    : new DistilleryError(`Service Bus ${what} failed: ${err instanceof Error ? err.message : String(err)}`, {
        status: 503,
        type: 'server_error',
        code: 'queue_unavailable',
        retryable: (err as { retryable?: boolean })?.retryable ?? true,
        cause: err,
      });

export class ServiceBusJobQueue implements JobQueue {
  readonly queueName: string;
  readonly #client: ServiceBusClient;
  readonly #ownsClient: boolean;
  readonly #maxDeliveryCount: number;
  readonly #lockRenewalInMs: number;
  readonly #closeTimeoutInMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #retryDelay: (deliveryCount: number) => number;
  #sender: ServiceBusSender | undefined;
  readonly #subscriptions = new Set<{ close(): Promise<void> }>();
  #closed = false;

  constructor(options: ServiceBusJobQueueOptions) {
    checkKey(options.queueName, 'queueName', 260);
    this.queueName = options.queueName;
    if ('client' in options) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else if ('connectionString' in options) {
      this.#client = new ServiceBusClient(options.connectionString);
      this.#ownsClient = true;
    } else {
      this.#client = new ServiceBusClient(options.fullyQualifiedNamespace, options.credential);
      this.#ownsClient = true;
    }
    this.#maxDeliveryCount = Math.max(1, Math.floor(options.maxDeliveryCount ?? 5));
    this.#lockRenewalInMs = options.maxAutoLockRenewalDurationInMs ?? 60 * 60_000;
    this.#closeTimeoutInMs = Math.max(0, options.closeTimeoutInMs ?? 10_000);
    this.#onError = options.onError ?? (() => {});
    const delay = options.retryDelayInMs ?? 0;
    this.#retryDelay = typeof delay === 'function' ? delay : () => delay;
  }

  async send(message: JobMessage, options?: JobQueueSendOptions): Promise<void> {
    this.#open();
    options?.abortSignal?.throwIfAborted();
    checkJobMessage(message, options);
    this.#sender ??= this.#client.createSender(this.queueName);
    const sbMessage = { messageId: message.messageId, body: message.body, contentType: 'application/json', subject: message.body.kind };
    try {
      if (options?.scheduledAt !== undefined) {
        await this.#sender.scheduleMessages(sbMessage, options.scheduledAt, { abortSignal: options.abortSignal });
      } else {
        await this.#sender.sendMessages(sbMessage, { abortSignal: options?.abortSignal });
      }
    } catch (err) {
      throw queueError('send', err);
    }
  }

  subscribe(handler: JobHandler, options?: { maxConcurrentCalls?: number }): JobQueueSubscription {
    this.#open();
    if (typeof handler !== 'function') throw invalidRequest('subscribe needs a handler function.', 'handler');
    const maxConcurrentCalls = options?.maxConcurrentCalls ?? 1;
    if (!Number.isInteger(maxConcurrentCalls) || maxConcurrentCalls < 1) {
      throw invalidRequest('maxConcurrentCalls must be a positive integer.', 'maxConcurrentCalls');
    }
    const receiver = this.#client.createReceiver(this.queueName, {
      receiveMode: 'peekLock',
      maxAutoLockRenewalDurationInMs: this.#lockRenewalInMs,
    });
    const stop = new AbortController();
    const inFlight = new Set<Promise<void>>();
    const sdkSubscription = receiver.subscribe(
      {
        processMessage: (msg) => {
          const task = this.#process(receiver, msg, handler, stop.signal).finally(() => inFlight.delete(task));
          inFlight.add(task);
          return task;
        },
        // Connection and link errors are retried by the SDK; they are only reported.
        processError: async (args) => {
          try {
            this.#onError(args.error);
          } catch {
            // a failing logger must not stop the receive loop
          }
        },
      },
      { autoCompleteMessages: false, maxConcurrentCalls },
    );
    let closing: Promise<void> | undefined;
    const subscription = {
      close: () => (closing ??= this.#closeSubscription(subscription, { stop, sdkSubscription, receiver, inFlight })),
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** Runs the handler on one delivery and settles the message by the outcome. */
  async #process(receiver: ServiceBusReceiver, msg: ServiceBusReceivedMessage, handler: JobHandler, stopSignal: AbortSignal): Promise<void> {
    const { messageId, deliveryCount } = deliveryOf(msg);
    const body = msg.body as JobMessage['body'];
    if (body === null || typeof body !== 'object' || typeof body.jobId !== 'string' || typeof body.task !== 'string') {
      await settle(() => receiver.deadLetterMessage(msg, { deadLetterReason: 'InvalidJobMessage', deadLetterErrorDescription: 'The body is not a job message.' }));
      return;
    }
    try {
      await handler({ messageId: messageId || body.jobId, body, deliveryCount }, { abortSignal: stopSignal });
    } catch (err) {
      await this.#settleFailure(receiver, msg, { messageId: messageId || body.jobId, body, deliveryCount }, err, stopSignal.aborted);
      return;
    }
    await settle(() => receiver.completeMessage(msg));
  }

  /**
   * A failed delivery: dead-lettered on the last allowed attempt, otherwise retried (a scheduled copy
   * after the retry delay, or abandoned for immediate redelivery). A stop in progress never dead-letters.
   */
  async #settleFailure(receiver: ServiceBusReceiver, msg: ServiceBusReceivedMessage, job: ReceivedJobMessage, err: unknown, stopping: boolean): Promise<void> {
    const { deliveryCount } = job;
    if (!stopping && deliveryCount >= this.#maxDeliveryCount) {
      await settle(() =>
        receiver.deadLetterMessage(msg, {
          deadLetterReason: failureDescription(err),
          deadLetterErrorDescription: `Failed on delivery ${deliveryCount} of ${this.#maxDeliveryCount}.`,
        }),
      );
      return;
    }
    const delay = stopping ? 0 : Math.max(0, this.#retryDelay(deliveryCount));
    if (delay > 0 && (await this.#scheduleRetry(job.messageId, job.body, deliveryCount, delay))) {
      // A crash between the two leaves two copies; the job store's etag makes the second a no-op.
      await settle(() => receiver.completeMessage(msg));
    } else {
      await settle(() => receiver.abandonMessage(msg));
    }
  }

  /** Stops receiving, waits (bounded) for running handlers, then hands the rest back to the broker. */
  async #closeSubscription(
    subscription: { close(): Promise<void> },
    parts: { stop: AbortController; sdkSubscription: { close(): Promise<void> }; receiver: ServiceBusReceiver; inFlight: Set<Promise<void>> },
  ): Promise<void> {
    const { stop, sdkSubscription, receiver, inFlight } = parts;
    stop.abort();
    await sdkSubscription.close().catch(() => {});
    if (inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#closeTimeoutInMs))),
      ]);
      clearTimeout(timer);
    }
    // Closing the link hands unsettled messages back to the broker for redelivery.
    await receiver.close().catch(() => {});
    this.#subscriptions.delete(subscription);
  }

  async #scheduleRetry(messageId: string, body: JobMessage['body'], attempts: number, delayInMs: number): Promise<boolean> {
    try {
      this.#sender ??= this.#client.createSender(this.queueName);
      await this.#sender.scheduleMessages(
        {
          messageId: `${messageId}~retry${attempts}`,
          body,
          contentType: 'application/json',
          subject: body.kind,
          applicationProperties: { [ORIGINAL_ID]: messageId, [ATTEMPTS]: attempts },
        },
        new Date(Date.now() + delayInMs),
      );
      return true;
    } catch (err) {
      this.#onError(err);
      return false; // fall back to an immediate abandon: the retry still happens
    }
  }

  /** Dead-lettered messages, oldest first, with their reasons (peeked: they stay there). */
  async peekDeadLetters(options?: OperationOptions & { maxMessageCount?: number }): Promise<DeadLetteredJobMessage[]> {
    this.#open();
    const receiver: ServiceBusReceiver = this.#client.createReceiver(this.queueName, { subQueueType: 'deadLetter' });
    try {
      // From the first sequence number every time: the SDK's peek cursor is shared per entity.
      const messages = await receiver.peekMessages(options?.maxMessageCount ?? 100, {
        fromSequenceNumber: Long.fromNumber(0),
        abortSignal: options?.abortSignal,
      });
      return messages.map((m) => ({
        messageId: String(m.applicationProperties?.[ORIGINAL_ID] ?? m.messageId),
        body: m.body as JobMessage['body'],
        deliveryCount: Number(m.applicationProperties?.[ATTEMPTS] ?? 0) + (m.deliveryCount ?? 0),
        reason: m.deadLetterReason ?? '',
        ...(m.deadLetterErrorDescription === undefined ? {} : { description: m.deadLetterErrorDescription }),
      }));
    } catch (err) {
      throw queueError('dead-letter peek', err);
    } finally {
      await receiver.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    this.#closed = true;
    await this.#sender?.close().catch(() => {});
    if (this.#ownsClient) await this.#client.close();
  }

  #open(): void {
    if (this.#closed) {
      throw new DistilleryError('ServiceBusJobQueue is closed.', { status: 503, type: 'server_error', code: 'queue_closed' });
    }
  }
}

type JobHandler = (message: ReceivedJobMessage, options: OperationOptions) => Promise<void>;

/**
 * The AMQP delivery count is the number of earlier deliveries; the port counts this one too, plus
 * the attempts made before a delayed retry re-sent the message (whose original id it carries).
 */
function deliveryOf(msg: ServiceBusReceivedMessage): { messageId: string; deliveryCount: number } {
  const props = msg.applicationProperties ?? {};
  const priorAttempts = typeof props[ATTEMPTS] === 'number' ? (props[ATTEMPTS] as number) : 0;
  const deliveryCount = priorAttempts + (msg.deliveryCount ?? 0) + 1;
  const messageId = typeof props[ORIGINAL_ID] === 'string' ? (props[ORIGINAL_ID] as string) : String(msg.messageId ?? '');
  return { messageId, deliveryCount };
}

// A settlement that fails because the lock was lost (expired, or the link went away) is not an
// error of the job: the broker redelivers the message, which is what at-least-once means.
async function settle(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch {
    // lock lost or connection gone: the broker decides the message's fate
  }
}
