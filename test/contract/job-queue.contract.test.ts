import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteJobQueue } from '../../src/adapters/sqlite/sqlite-job-queue.js';
import { jobMessage, jobQueueContract, waitFor } from './job-queue-contract.js';

// Each harness is one queue in a temporary SQLite file; every client opens the file anew, as a
// second worker process would.
const dir = mkdtempSync(path.join(tmpdir(), 'job-queue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
jobQueueContract('SQLite', async ({ lockDurationInMs, maxDeliveryCount, retryDelayInMs }) => {
  const file = path.join(dir, `queue-${++n}.db`);
  return {
    open: async () =>
      new SqliteJobQueue({ path: file, queueName: 'jobs', lockDurationInMs, maxDeliveryCount, retryDelayInMs, pollIntervalInMs: 20, closeTimeoutInMs: 200 }),
  };
});

describe('SqliteJobQueue specifics', () => {
  const open = (file: string) =>
    new SqliteJobQueue({ path: file, queueName: 'jobs', lockDurationInMs: 150, maxDeliveryCount: 2, pollIntervalInMs: 20, closeTimeoutInMs: 20 });

  it('dead-letters a message whose receivers keep dying (MaxDeliveryCountExceeded) without calling a handler again', async () => {
    const file = path.join(dir, `dying-${++n}.db`);
    const message = jobMessage();
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const q = open(file);
      if (i === 0) await q.send(message);
      const sub = q.subscribe(async (m) => {
        counts.push(m.deliveryCount);
        await new Promise(() => {}); // the worker dies mid-job
      });
      await waitFor(() => counts.length === i + 1, 5_000, `delivery ${i + 1}`);
      await sub.close();
      await q.close();
    }
    const last = open(file);
    let called = false;
    const sub = last.subscribe(async () => void (called = true));
    await waitFor(async () => (await last.peekDeadLetters()).length === 1, 5_000, 'a dead letter');
    await sub.close();
    const [dead] = await last.peekDeadLetters();
    expect(counts).toEqual([1, 2]);
    expect(called).toBe(false);
    expect(dead).toMatchObject({ messageId: message.messageId, reason: 'MaxDeliveryCountExceeded', deliveryCount: 2 });
    expect(await last.countActiveMessages()).toBe(0);
    await last.close();
  });

  it('keeps sent and scheduled messages across a restart', async () => {
    const file = path.join(dir, `restart-${++n}.db`);
    const first = open(file);
    const now = jobMessage();
    const later = jobMessage();
    await first.send(now);
    await first.send(later, { scheduledAt: new Date(Date.now() + 300) });
    await first.close();
    const second = open(file);
    const got: string[] = [];
    const sub = second.subscribe(async (m) => void got.push(m.messageId));
    await waitFor(() => got.length === 2, 5_000, 'both messages');
    await sub.close();
    await second.close();
    expect(got).toEqual([now.messageId, later.messageId]);
  });
});
