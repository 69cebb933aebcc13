import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeadLetteredJobMessage } from '../../src/adapters/shared/check-job-message.js';
import { DistilleryError } from '../../src/core/errors.js';
import type { JobMessage, JobQueue, ReceivedJobMessage } from '../../src/core/ports.js';

// The JobQueue contract, run unchanged over the SQLite queue and the Service Bus queue (against
// the rhea broker fixture). A harness stands for one fresh queue; `open()` gives another client of
// that same queue, so "a receiver dies and another one takes over" can be played out.

export type TestJobQueue = JobQueue & {
  peekDeadLetters(options?: { maxMessageCount?: number }): Promise<DeadLetteredJobMessage[]>;
};

export interface JobQueueHarness {
  open(): Promise<TestJobQueue>;
}

export interface JobQueueSettings {
  lockDurationInMs: number;
  maxDeliveryCount: number;
  /** Wait before a failed message comes back (0: at once); a function gets the failed delivery's count. */
  retryDelayInMs: number | ((failedDeliveryCount: number) => number);
}

export function jobMessage(task = 'clinc150', overrides: Partial<JobMessage['body']> = {}): JobMessage {
  const jobId = `job-${randomUUID()}`;
  return { messageId: jobId, body: { jobId, task, kind: 'redistill', ...overrides } };
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutInMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function jobQueueContract(name: string, createHarness: (settings: JobQueueSettings) => Promise<JobQueueHarness>): void {
  describe(`JobQueue contract: ${name}`, () => {
    const opened: TestJobQueue[] = [];
    const open = async (settings: Partial<JobQueueSettings> = {}) => {
      const harness = await createHarness({ lockDurationInMs: 5_000, maxDeliveryCount: 3, retryDelayInMs: 0, ...settings });
      return async () => {
        const q = await harness.open();
        opened.push(q);
        return q;
      };
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });

    it('delivers each message once with its body and completes it when the handler resolves', async () => {
      const queue = await (await open())();
      const sent = [jobMessage(), jobMessage('banking77', { datasetVersion: 'ds-7' }), jobMessage()];
      for (const m of sent) await queue.send(m);
      const got: ReceivedJobMessage[] = [];
      const sub = queue.subscribe(async (m) => void got.push(m));
      await waitFor(() => got.length === 3, 10_000, 'three deliveries');
      await delay(400);
      await sub.close();
      expect(got).toHaveLength(3);
      expect(got.map((m) => m.messageId).sort()).toEqual(sent.map((m) => m.messageId).sort());
      for (const m of got) {
        expect(m.deliveryCount).toBe(1);
        expect(m.body).toEqual(sent.find((s) => s.messageId === m.messageId)!.body);
      }
    });

    it('redelivers after a failure with a higher delivery count, then dead-letters with the reason', async () => {
      const queue = await (await open({ maxDeliveryCount: 3 }))();
      const doomed = jobMessage();
      const flaky = jobMessage();
      await queue.send(doomed);
      await queue.send(flaky);
      const deliveries: { id: string; count: number }[] = [];
      const sub = queue.subscribe(async (m) => {
        deliveries.push({ id: m.messageId, count: m.deliveryCount });
        if (m.messageId === doomed.messageId) throw new Error('teacher unreachable');
        if (m.deliveryCount < 2) throw new Error('transient');
      });
      await waitFor(async () => (await queue.peekDeadLetters()).length === 1, 15_000, 'a dead letter');
      await waitFor(() => deliveries.filter((d) => d.id === flaky.messageId).length === 2, 5_000, 'the flaky retry');
      await delay(300);
      await sub.close();
      expect(deliveries.filter((d) => d.id === doomed.messageId).map((d) => d.count)).toEqual([1, 2, 3]);
      expect(deliveries.filter((d) => d.id === flaky.messageId).map((d) => d.count)).toEqual([1, 2]);
      const dead = await queue.peekDeadLetters();
      expect(dead).toHaveLength(1);
      expect(dead[0]!.messageId).toBe(doomed.messageId);
      expect(dead[0]!.body).toEqual(doomed.body);
      expect(dead[0]!.reason).toContain('teacher unreachable');
    });

    it('waits the retry delay before delivering a failed message again, then dead-letters it with its own id', async () => {
      const queue = await (await open({ retryDelayInMs: 400, maxDeliveryCount: 3 }))();
      const message = jobMessage();
      await queue.send(message);
      const deliveries: { id: string; count: number; at: number }[] = [];
      const sub = queue.subscribe(async (m) => {
        deliveries.push({ id: m.messageId, count: m.deliveryCount, at: Date.now() });
        throw new Error('student training diverged');
      });
      await waitFor(async () => (await queue.peekDeadLetters()).length === 1, 15_000, 'a dead letter');
      await sub.close();
      expect(deliveries.map((d) => [d.id, d.count])).toEqual([
        [message.messageId, 1],
        [message.messageId, 2],
        [message.messageId, 3],
      ]);
      expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(350);
      expect(deliveries[2]!.at - deliveries[1]!.at).toBeGreaterThanOrEqual(350);
      const [dead] = await queue.peekDeadLetters();
      expect(dead).toMatchObject({ messageId: message.messageId, body: message.body });
      expect(dead!.reason).toContain('student training diverged');
    });

    it('backs off longer after each failed delivery: the delay policy gets the failed delivery count', async () => {
      const asked: number[] = [];
      const queue = await (await open({ maxDeliveryCount: 3, retryDelayInMs: (n) => (asked.push(n), 300 * n) }))();
      const message = jobMessage();
      await queue.send(message);
      const at: number[] = [];
      const sub = queue.subscribe(async () => {
        at.push(Date.now());
        throw new Error('job store unavailable');
      });
      await waitFor(async () => (await queue.peekDeadLetters()).length === 1, 15_000, 'a dead letter');
      await sub.close();
      expect(at).toHaveLength(3);
      expect(asked).toEqual([1, 2]); // the last delivery is dead-lettered, not delayed
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(300 - 50);
      expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(600 - 50);
    });

    it('holds a failed message for its back-off while later messages flow (an outage does not burn deliveries)', async () => {
      const queue = await (await open({ maxDeliveryCount: 3, retryDelayInMs: 60_000 }))();
      const failing = jobMessage();
      await queue.send(failing);
      const seen: { id: string; count: number }[] = [];
      let failed!: () => void;
      const firstFailure = new Promise<void>((r) => (failed = r));
      const sub = queue.subscribe(async (m) => {
        seen.push({ id: m.messageId, count: m.deliveryCount });
        if (m.messageId === failing.messageId) {
          setImmediate(failed);
          throw new Error('store outage');
        }
      });
      await firstFailure;
      // Messages sent after the failure are delivered; the failed one waits out its back-off.
      const later = [jobMessage(), jobMessage()];
      for (const m of later) await queue.send(m);
      await waitFor(() => later.every((m) => seen.some((s) => s.id === m.messageId)), 10_000, 'the later messages');
      await sub.close();
      expect(seen.filter((s) => s.id === failing.messageId)).toEqual([{ id: failing.messageId, count: 1 }]);
      expect(await queue.peekDeadLetters()).toEqual([]);
    });

    it('delivers a message handed back on close again at once, without the failure back-off', async () => {
      const client = await open({ retryDelayInMs: 60_000 });
      const first = await client();
      const message = jobMessage();
      await first.send(message);
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const sub = first.subscribe((_m, { abortSignal }) => {
        started();
        // A worker shutting down: its running job stops when the subscription closes.
        return new Promise<void>((_, reject) => abortSignal?.addEventListener('abort', () => reject(new Error('worker stopping')), { once: true }));
      });
      await running;
      await sub.close();
      const got: ReceivedJobMessage[] = [];
      const sub2 = first.subscribe(async (m) => void got.push(m));
      await waitFor(() => got.length === 1, 15_000, 'the redelivery');
      await sub2.close();
      expect(got[0]).toMatchObject({ messageId: message.messageId, deliveryCount: 2 });
    });

    it('delivers again, to another receiver, a message whose receiver died before completing', async () => {
      const client = await open({ lockDurationInMs: 1_000 });
      const first = await client();
      const message = jobMessage();
      await first.send(message);
      let firstGot = 0;
      const sub = first.subscribe(() => {
        firstGot++;
        return new Promise<void>(() => {}); // never settles: the process "dies" mid-job
      });
      await waitFor(() => firstGot === 1, 10_000, 'the first delivery');
      await sub.close();
      await first.close();
      const second = await client();
      const got: ReceivedJobMessage[] = [];
      const sub2 = second.subscribe(async (m) => void got.push(m));
      await waitFor(() => got.length === 1, 15_000, 'the redelivery');
      await delay(300);
      await sub2.close();
      expect(got).toHaveLength(1);
      expect(got[0]!.messageId).toBe(message.messageId);
      expect(got[0]!.deliveryCount).toBe(2);
    });

    it('drops a duplicate message id so a job never runs twice', async () => {
      const queue = await (await open())();
      const message = jobMessage();
      await queue.send(message);
      await queue.send({ ...message, body: { ...message.body, kind: 'dataset' } });
      const got: ReceivedJobMessage[] = [];
      const sub = queue.subscribe(async (m) => void got.push(m));
      await waitFor(() => got.length === 1, 10_000, 'a delivery');
      await queue.send(message); // still within the duplicate-detection window, even once completed
      await delay(500);
      await sub.close();
      expect(got.map((m) => m.body.kind)).toEqual(['redistill']);
    });

    it('holds a scheduled message until its time', async () => {
      const queue = await (await open())();
      const message = jobMessage();
      const scheduledAt = new Date(Date.now() + 1_200);
      await queue.send(message, { scheduledAt });
      const now = jobMessage();
      await queue.send(now);
      const got: { id: string; at: number }[] = [];
      const sub = queue.subscribe(async (m) => void got.push({ id: m.messageId, at: Date.now() }));
      await waitFor(() => got.length === 2, 10_000, 'both deliveries');
      await sub.close();
      expect(got[0]!.id).toBe(now.messageId);
      expect(got[1]!.id).toBe(message.messageId);
      expect(got[1]!.at).toBeGreaterThanOrEqual(scheduledAt.getTime() - 50);
    });

    it('runs at most maxConcurrentCalls handlers at once, and uses them', async () => {
      const queue = await (await open())();
      for (let i = 0; i < 6; i++) await queue.send(jobMessage());
      let running = 0;
      let peak = 0;
      let done = 0;
      const sub = queue.subscribe(
        async () => {
          running++;
          peak = Math.max(peak, running);
          await delay(150);
          running--;
          done++;
        },
        { maxConcurrentCalls: 2 },
      );
      await waitFor(() => done === 6, 15_000, 'six handled');
      await sub.close();
      expect(peak).toBe(2);
    });

    it('stops delivering after the subscription closes; a new subscription picks up', async () => {
      const queue = await (await open())();
      const got: string[] = [];
      const sub = queue.subscribe(async (m) => void got.push(m.messageId));
      await sub.close();
      const message = jobMessage();
      await queue.send(message);
      await delay(400);
      expect(got).toEqual([]);
      const sub2 = queue.subscribe(async (m) => void got.push(m.messageId));
      await waitFor(() => got.length === 1, 10_000, 'the delivery');
      await sub2.close();
      expect(got).toEqual([message.messageId]);
    });

    it('refuses malformed messages with a typed error', async () => {
      const queue = await (await open())();
      const good = jobMessage();
      await expect(queue.send({ ...good, messageId: '' })).rejects.toBeInstanceOf(DistilleryError);
      await expect(queue.send({ messageId: 'x', body: { task: 't', kind: 'redistill' } } as unknown as JobMessage)).rejects.toBeInstanceOf(DistilleryError);
      await expect(queue.send(null as unknown as JobMessage)).rejects.toBeInstanceOf(DistilleryError);
      await expect(queue.send(good, { scheduledAt: new Date('nope') })).rejects.toBeInstanceOf(DistilleryError);
    });
  });
}
