import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import { JOB_REDELIVERY_BACKOFF } from '../../src/core/distill/job-redelivery.js';

// #15 row 2: the composed job queue redelivers a failed message only after the back-off of
// core/distill/job-redelivery.ts (from 10 s, jittered), so a store outage of a minute does not
// use up a job's deliveries in seconds. Before, the embedded queue made it visible again at once.

let dir: string;
let d: Distillery | undefined;
afterEach(async () => {
  await d?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a failed job message waits out the redelivery back-off while later messages flow', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-backoff-'));
  d = await createDistillery(loadConfig({ DISTILLERY_DATA_DIR: dir }));
  const seen: { id: string; count: number }[] = [];
  let failed!: () => void;
  const firstFailure = new Promise<void>((r) => (failed = r));
  const sub = d.jobQueue.subscribe(async (m) => {
    seen.push({ id: m.messageId, count: m.deliveryCount });
    if (m.messageId === 'outage.1') {
      setImmediate(failed);
      throw new Error('job store unavailable');
    }
  });
  const sentAt = Date.now();
  await d.jobQueue.send({ messageId: 'outage.1', body: { jobId: 'outage.1', task: 't', kind: 'redistill' } });
  await firstFailure;
  await d.jobQueue.send({ messageId: 'later.1', body: { jobId: 'later.1', task: 't', kind: 'redistill' } });
  const deadline = Date.now() + 20_000;
  while (!seen.some((s) => s.id === 'later.1')) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the later message');
    await new Promise((r) => setTimeout(r, 20));
  }
  await sub.close();
  expect(seen.filter((s) => s.id === 'outage.1')).toEqual([{ id: 'outage.1', count: 1 }]);
  // The row is back in the queue, visible no earlier than half the first back-off (equal jitter).
  const db = new Database(path.join(dir, 'queue.db'), { readonly: true });
  const row = db.prepare(`SELECT visible_at, delivery_count FROM queue_messages WHERE message_id = 'outage.1'`).get() as { visible_at: number; delivery_count: number };
  db.close();
  expect(row.delivery_count).toBe(1);
  expect(row.visible_at - sentAt).toBeGreaterThanOrEqual(JOB_REDELIVERY_BACKOFF.baseDelayInMs / 2);
  expect(row.visible_at - Date.now()).toBeLessThanOrEqual(JOB_REDELIVERY_BACKOFF.baseDelayInMs);
}, 60_000);
