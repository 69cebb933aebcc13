import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ServiceBusJobQueue } from '../../src/adapters/service-bus/service-bus-job-queue.js';
import { startServiceBusBroker, type RunningServiceBusBroker } from '../fixtures/service-bus-broker/service-bus-broker.js';
import { jobMessage, jobQueueContract, waitFor } from './job-queue-contract.js';

// The JobQueue contract over the real @azure/service-bus client and the rhea broker fixture. The
// broker runs in this file (not the global setup) so each harness can create its queue with the
// lock duration the test asks for.

let broker: RunningServiceBusBroker;
beforeAll(async () => {
  broker = await startServiceBusBroker();
});
afterAll(async () => {
  await broker?.stop();
});

jobQueueContract('Service Bus (rhea broker fixture)', async ({ lockDurationInMs, maxDeliveryCount, retryDelayInMs }) => {
  const queueName = `jobs-${randomUUID().slice(0, 8)}`;
  // The broker's own limit sits above the adapter's, so the adapter dead-letters with the error.
  broker.createQueue(queueName, { lockDurationInMs, maxDeliveryCount: maxDeliveryCount + 2 });
  return {
    open: async () => new ServiceBusJobQueue({ connectionString: broker.connectionString, queueName, maxDeliveryCount, retryDelayInMs, closeTimeoutInMs: 200 }),
  };
});

describe('ServiceBusJobQueue against the broker fixture', () => {
  it('lets the broker dead-letter a message whose locks keep expiring (MaxDeliveryCountExceeded)', async () => {
    const queueName = `jobs-${randomUUID().slice(0, 8)}`;
    broker.createQueue(queueName, { lockDurationInMs: 300, maxDeliveryCount: 2 });
    const queue = new ServiceBusJobQueue({ connectionString: broker.connectionString, queueName, maxDeliveryCount: 5, maxAutoLockRenewalDurationInMs: 0, closeTimeoutInMs: 50 });
    const message = jobMessage();
    await queue.send(message);
    const counts: number[] = [];
    const sub = queue.subscribe(async (m) => {
      counts.push(m.deliveryCount);
      await new Promise(() => {}); // hangs: the lock expires under it
    }, { maxConcurrentCalls: 2 });
    await waitFor(async () => (await queue.peekDeadLetters()).length === 1, 15_000, 'a dead letter');
    const [dead] = await queue.peekDeadLetters();
    expect(dead!.messageId).toBe(message.messageId);
    expect(dead!.reason).toBe('MaxDeliveryCountExceeded');
    expect(counts).toEqual([1, 2]);
    await sub.close();
    await queue.close();
  });

  it('assigns increasing sequence numbers and keeps scheduled messages visible to peek', async () => {
    const queueName = `jobs-${randomUUID().slice(0, 8)}`;
    const queue = new ServiceBusJobQueue({ connectionString: broker.connectionString, queueName });
    await queue.send(jobMessage());
    await queue.send(jobMessage(), { scheduledAt: new Date(Date.now() + 60_000) });
    const stored = [...broker.queue(queueName).messages.values()];
    expect(stored).toHaveLength(2);
    expect(stored[1]!.sequenceNumber).toBeGreaterThan(stored[0]!.sequenceNumber);
    expect(stored[1]!.visibleAt).toBeGreaterThan(Date.now() + 50_000);
    await queue.close();
  });

  it('works against the broker the global setup started', async () => {
    const queue = new ServiceBusJobQueue({ connectionString: inject('serviceBusConnectionString'), queueName: `jobs-${randomUUID().slice(0, 8)}` });
    const message = jobMessage();
    await queue.send(message);
    const got: string[] = [];
    const sub = queue.subscribe(async (m) => void got.push(m.messageId));
    await waitFor(() => got.length === 1, 10_000, 'a delivery');
    await sub.close();
    await queue.close();
    expect(got).toEqual([message.messageId]);
  });
});
