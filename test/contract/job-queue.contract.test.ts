import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { SqliteJobQueue } from '../../src/adapters/sqlite/sqlite-job-queue.js';
import { jobQueueContract } from './job-queue-contract.js';

// Each harness is one queue in a temporary SQLite file; every client opens the file anew, as a
// second worker process would.
const dir = mkdtempSync(path.join(tmpdir(), 'job-queue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
jobQueueContract('SQLite', async ({ lockDurationInMs, maxDeliveryCount }) => {
  const file = path.join(dir, `queue-${++n}.db`);
  return {
    open: async () =>
      new SqliteJobQueue({ path: file, queueName: 'jobs', lockDurationInMs, maxDeliveryCount, pollIntervalInMs: 20, closeTimeoutInMs: 200 }),
  };
});
