import { app, type InvocationContext } from '@azure/functions';
import { getDistillery } from '../src/function-app-instance.js';

// Service Bus-triggered worker: each message on the jobs queue advances a distillation job (or
// processes a stage-1 chunk). Returning completes the message; throwing abandons it, so Service
// Bus redelivers it and dead-letters it after the queue's max delivery count.

export async function distillWorker(message: unknown, context: InvocationContext): Promise<void> {
  const distillery = await getDistillery();
  const deliveryCount = Number((context.triggerMetadata as { deliveryCount?: number } | undefined)?.deliveryCount ?? 1);
  await distillery.dispatchJobMessage(message, { deliveryCount });
}

app.serviceBusQueue('distill-worker', {
  connection: 'ServiceBusConnection',
  queueName: '%DISTILLERY_JOBS_QUEUE%',
  handler: distillWorker,
});
