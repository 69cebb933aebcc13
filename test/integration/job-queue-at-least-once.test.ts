import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosmosJobStore } from '../../src/adapters/cosmos/cosmos-job-store.js';
import { ServiceBusJobQueue } from '../../src/adapters/service-bus/service-bus-job-queue.js';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import { ConcurrencyError } from '../../src/core/errors.js';
import type { JobStore, ReceivedJobMessage } from '../../src/core/ports.js';
import { openTestCosmos } from '../contract/cosmos-test-client.js';
import { makeJob } from '../contract/job-store-contract.js';
import { waitFor } from '../contract/job-queue-contract.js';
import { startServiceBusBroker, type RunningServiceBusBroker } from '../fixtures/service-bus-broker/service-bus-broker.js';

// At-least-once end to end: a queue without duplicate detection delivers the same job twice, to
// two workers at the same moment. The job store's etag decides: exactly one worker advances the
// job, the other gets a ConcurrencyError (or finds the job already taken) and completes its
// message as a no-op. Nothing crashes, nothing is dead-lettered, the job runs once.

let broker: RunningServiceBusBroker;
beforeAll(async () => {
  broker = await startServiceBusBroker();
});
afterAll(async () => {
  await broker?.stop();
});

const stores: [string, () => Promise<JobStore>][] = [
  ['SQLite job store', async () => new SqliteJobStore({ path: ':memory:' })],
  ['Cosmos DB job store', async () => new CosmosJobStore({ jobs: (await openTestCosmos()).jobs })],
];

describe.each(stores)('a job delivered twice over Service Bus, with the %s', (_name, createStore) => {
  it('is advanced by exactly one of two racing workers', async () => {
    const store = await createStore();
    const queueName = `race-${randomUUID().slice(0, 8)}`;
    broker.createQueue(queueName, { duplicateDetectionWindowInMs: 0 });
    const job = await store.create(makeJob('race'));
    const workers = ['worker-a', 'worker-b'].map(
      (name) => ({ name, queue: new ServiceBusJobQueue({ connectionString: broker.connectionString, queueName, maxDeliveryCount: 3 }) }),
    );
    const advanced: string[] = [];
    const noOps: string[] = [];
    let reads = 0;
    const handler = (worker: string) => async (m: ReceivedJobMessage) => {
      const current = await store.get(m.body.jobId, { task: m.body.task });
      reads++;
      // Both workers hold the same version before either writes: the race is real.
      await waitFor(() => reads >= 2, 5_000, 'both workers to read the job').catch(() => {});
      if (current?.state !== 'queued') {
        noOps.push(worker);
        return;
      }
      try {
        await store.update({
          ...current,
          state: 'building_dataset',
          startedAt: new Date().toISOString(),
          log: [...current.log, { at: new Date().toISOString(), level: 'info', message: `started by ${worker}` }],
        });
        advanced.push(worker);
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
        noOps.push(worker);
      }
    };
    const subs = workers.map((w) => w.queue.subscribe(handler(w.name)));
    await workers[0]!.queue.send({ messageId: job.id, body: { jobId: job.id, task: job.task, kind: job.kind } });
    await workers[1]!.queue.send({ messageId: job.id, body: { jobId: job.id, task: job.task, kind: job.kind } });
    await waitFor(() => advanced.length + noOps.length === 2, 15_000, 'both deliveries handled');
    await waitFor(() => broker.queue(queueName).messages.size === 0, 5_000, 'both messages completed');
    for (const s of subs) await s.close();
    for (const w of workers) await w.queue.close();

    expect(advanced).toHaveLength(1);
    expect(noOps).toHaveLength(1);
    const final = (await store.get(job.id, { task: job.task }))!;
    expect(final.state).toBe('building_dataset');
    expect(final.log.filter((l) => l.message.startsWith('started by'))).toEqual([expect.objectContaining({ message: `started by ${advanced[0]}` })]);
    expect(broker.queue(`${queueName}/$DeadLetterQueue`).messages.size).toBe(0);
  });
});
