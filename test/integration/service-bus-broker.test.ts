import { ServiceBusClient } from '@azure/service-bus';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceBusBroker, type RunningServiceBusBroker } from '../fixtures/service-bus-broker/service-bus-broker.js';

// The broker fixture itself, driven by the real @azure/service-bus client with no adapter in
// between: what the SDK sees of locks, delivery counts, sequence numbers, dispositions and the
// $management operations must match Service Bus closely enough for the adapter tests to mean
// something.

let broker: RunningServiceBusBroker;
let client: ServiceBusClient;
beforeAll(async () => {
  broker = await startServiceBusBroker();
  client = new ServiceBusClient(broker.connectionString);
});
afterAll(async () => {
  await client?.close();
  await broker?.stop();
});

const newQueue = (settings = {}) => {
  const name = `q-${randomUUID().slice(0, 8)}`;
  broker.createQueue(name, settings);
  return name;
};

describe('Service Bus broker fixture', () => {
  it('assigns sequence numbers, peeks without locking, locks on receive and renews locks', async () => {
    const q = newQueue({ lockDurationInMs: 2_000 });
    const sender = client.createSender(q);
    await sender.sendMessages([
      { messageId: 'a', body: { n: 1 } },
      { messageId: 'b', body: { n: 2 } },
    ]); // an array travels as one batch transfer
    const receiver = client.createReceiver(q);
    const peeked = await receiver.peekMessages(10);
    expect(peeked.map((m) => m.messageId)).toEqual(['a', 'b']);
    expect(peeked[1]!.sequenceNumber!.toNumber()).toBeGreaterThan(peeked[0]!.sequenceNumber!.toNumber());
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(m!.messageId).toBe('a');
    expect(m!.deliveryCount).toBe(0);
    expect(m!.lockToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(m!.body).toEqual({ n: 1 });
    const lockedUntil = m!.lockedUntilUtc!.getTime();
    await new Promise((r) => setTimeout(r, 50));
    const renewed = await receiver.renewMessageLock(m!);
    expect(renewed.getTime()).toBeGreaterThan(lockedUntil);
    await receiver.completeMessage(m!);
    const [n] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    await receiver.completeMessage(n!);
    expect(broker.queue(q).messages.size).toBe(0);
    await receiver.close();
    await sender.close();
  });

  it('counts abandons and lock expiries, and dead-letters with the reason into $DeadLetterQueue', async () => {
    const q = newQueue({ lockDurationInMs: 300 });
    const sender = client.createSender(q);
    await sender.sendMessages({ messageId: 'x', body: 'payload' });
    // A fresh receiver per step: messages arriving at an idle batching receiver are not its business.
    const r1 = client.createReceiver(q);
    const [first] = await r1.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(first!.deliveryCount).toBe(0);
    await r1.abandonMessage(first!);
    await r1.close();
    const r2 = client.createReceiver(q);
    const [second] = await r2.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(second!.deliveryCount).toBe(1);
    await new Promise((r) => setTimeout(r, 450)); // the lock expires: the delivery counts
    await r2.close();
    const receiver = client.createReceiver(q);
    const [third] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(third!.deliveryCount).toBe(2);
    await receiver.deadLetterMessage(third!, { deadLetterReason: 'Poisoned', deadLetterErrorDescription: 'bad input' });
    const dlq = client.createReceiver(q, { subQueueType: 'deadLetter' });
    const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(dead).toMatchObject({ messageId: 'x', body: 'payload', deadLetterReason: 'Poisoned', deadLetterErrorDescription: 'bad input' });
    await dlq.completeMessage(dead!);
    await dlq.close();
    await receiver.close();
    await sender.close();
  });

  it('schedules and cancels through $management, and drops duplicates within the window', async () => {
    const q = newQueue();
    const sender = client.createSender(q);
    const [keep] = await sender.scheduleMessages({ messageId: 'later', body: 1 }, new Date(Date.now() + 1_500));
    const [drop] = await sender.scheduleMessages({ messageId: 'never', body: 2 }, new Date(Date.now() + 1_500));
    await sender.cancelScheduledMessages(drop!);
    await sender.sendMessages({ messageId: 'later', body: 'duplicate' }); // same id: dropped
    const receiver = client.createReceiver(q, { receiveMode: 'receiveAndDelete' });
    const early = await receiver.receiveMessages(5, { maxWaitTimeInMs: 300 });
    expect(early).toEqual([]);
    const got = await receiver.receiveMessages(5, { maxWaitTimeInMs: 3_000 });
    expect(got.map((m) => [m.messageId, m.body, m.sequenceNumber!.toNumber()])).toEqual([['later', 1, keep!.toNumber()]]);
    expect(broker.queue(q).messages.size).toBe(0); // receiveAndDelete removed it
    await receiver.close();
    await sender.close();
  });

  it('delivers again, with a higher count, what a closed receiver left unsettled', async () => {
    const q = newQueue();
    const sender = client.createSender(q);
    await sender.sendMessages({ messageId: 'left', body: 0 });
    const gone = client.createReceiver(q);
    const [m] = await gone.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(m!.deliveryCount).toBe(0);
    await gone.close();
    const next = client.createReceiver(q);
    const [again] = await next.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(again).toMatchObject({ messageId: 'left', deliveryCount: 1 });
    await next.completeMessage(again!);
    await next.close();
    await sender.close();
  });
});
