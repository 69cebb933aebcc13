import { describe, expect, it } from 'vitest';
import type { ChatModelRequest, ChatModelResult, ChatStreamEvent } from '../../src/core/chat/chat-model-types.js';
import { chatCompletionRequestSchema } from '../../src/core/chat/chat-request-schema.js';
import { UpstreamError } from '../../src/core/errors.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import type { ChatModel } from '../../src/core/ports.js';
import { ChatGateway } from '../../src/core/routing/chat-gateway.js';
import type { TaskRuntime } from '../../src/core/tasks/task-catalog.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';

// The gateway use case over in-process ChatModels: timing-controlled, so "never delays" and
// "fallback order" are asserted exactly. (HTTP-level behaviour is tested over real sockets in
// test/integration.)

class ScriptedModel implements ChatModel {
  readonly hosting = 'remote' as const;
  calls = 0;
  constructor(
    readonly id: string,
    private readonly behave: (req: ChatModelRequest, signal?: AbortSignal) => Promise<Partial<ChatModelResult>>,
  ) {}
  async generate(req: ChatModelRequest, opts?: { abortSignal?: AbortSignal; timeoutInMs?: number }): Promise<ChatModelResult> {
    this.calls++;
    // Like every adapter, honour the time budget the gateway passes.
    const timeout = AbortSignal.timeout(opts?.timeoutInMs ?? 60_000);
    const signal = opts?.abortSignal ? AbortSignal.any([opts.abortSignal, timeout]) : timeout;
    const r = await this.behave(req, signal).catch((err) => {
      throw signal.aborted && timeout.aborted ? new UpstreamError(this.id, 'timed out', { timeout: true }) : err;
    });
    return { model: this.id, text: '', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 }, ...r };
  }
  async *stream(req: ChatModelRequest, opts?: { abortSignal?: AbortSignal }): AsyncIterable<ChatStreamEvent> {
    const r = await this.generate(req, opts);
    yield { type: 'delta', text: r.text };
    yield { type: 'finish', finishReason: r.finishReason, usage: r.usage, model: r.model };
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

function setup(policy: unknown, teacher: ScriptedModel, student: ScriptedModel | undefined, extra: Partial<TaskRuntime> = {}, routingExtra = {}) {
  const pairs: PairRecord[] = [];
  const config = taskSchema.parse({ name: 't', teacher: 'teacher', student: { source: 'model', model: 's' }, routing: { policy, ...routingExtra } });
  const gateway = new ChatGateway({
    models: { teacher: () => teacher, student: async () => student },
    pairs: { enqueue: (p) => (pairs.push(p), true) },
    clock: { now: () => Date.parse('2026-01-01T00:00:00Z') },
    random: () => 0,
  });
  const task: TaskRuntime = { config, ...extra };
  const call = (content = 'hi', more: Record<string, unknown> = {}) =>
    gateway.complete({
      requestId: `r-${Math.random()}`,
      tenant: 'acme',
      task,
      request: chatCompletionRequestSchema.parse({ model: 't', messages: [{ role: 'user', content }], ...more }),
    });
  return { gateway, pairs, call, task };
}

describe('shadow', () => {
  it('answers without waiting for the shadow arm, then logs both', async () => {
    const teacher = new ScriptedModel('teacher', async () => ({ text: 'T' }));
    const student = new ScriptedModel('student', async () => (await sleep(300), { text: 'S' }));
    const { call, pairs } = setup({ type: 'shadow', serve: 'teacher' }, teacher, student);
    const t0 = performance.now();
    const r = await call();
    expect(performance.now() - t0).toBeLessThan(100);
    expect(r.result.text).toBe('T');
    expect(pairs).toHaveLength(0); // not yet: the pair waits for the shadow
    await r.logged;
    expect(pairs).toHaveLength(1);
    expect(pairs[0]!.teacher).toMatchObject({ text: 'T', role: 'served' });
    expect(pairs[0]!.student).toMatchObject({ text: 'S', role: 'shadow' });
  });

  it('a failing shadow never fails the request', async () => {
    const teacher = new ScriptedModel('teacher', async () => ({ text: 'T' }));
    const student = new ScriptedModel('student', async () => {
      throw new UpstreamError('student', 'HTTP 500', { upstreamStatus: 500 });
    });
    const { call, pairs } = setup({ type: 'shadow', serve: 'teacher' }, teacher, student);
    const r = await call();
    expect(r.result.text).toBe('T');
    await r.logged;
    expect(pairs[0]!.student?.error).toMatchObject({ status: 502, code: 'upstream_error' });
  });
});

describe('cascade', () => {
  const labels = new Set(['refund', 'balance']);
  const parseLabel = (t: string) => (labels.has(t.trim()) ? t.trim() : null);

  it('keeps a confident student answer and does not call the teacher', async () => {
    const teacher = new ScriptedModel('teacher', async () => ({ text: 'refund' }));
    const student = new ScriptedModel('student', async () => ({ text: 'balance', confidence: 0.95 }));
    const { call, pairs } = setup({ type: 'cascade', threshold: 0.8 }, teacher, student, { parseLabel });
    const r = await call();
    expect(r.arm).toBe('student');
    expect(teacher.calls).toBe(0);
    await r.logged;
    expect(pairs[0]!.student?.role).toBe('served');
    expect(pairs[0]!.labels).toEqual({ student: 'balance', usableForTraining: false });
  });

  it('escalates below the threshold, exactly at the boundary it keeps the student', async () => {
    const teacher = new ScriptedModel('teacher', async () => ({ text: 'refund' }));
    let conf = 0.79;
    const student = new ScriptedModel('student', async () => ({ text: 'balance', confidence: conf }));
    const { call, pairs } = setup({ type: 'cascade', threshold: 0.8 }, teacher, student, { parseLabel });
    const low = await call();
    expect(low.arm).toBe('teacher');
    expect(low.result.text).toBe('refund');
    expect(low.reason).toMatch(/escalated: confidence 0\.790 < 0\.8/);
    conf = 0.8;
    const edge = await call();
    expect(edge.arm).toBe('student');
    await low.logged;
    expect(pairs[0]!.labels).toEqual({ teacher: 'refund', student: 'balance', usableForTraining: true });
    expect(pairs[0]!.student?.role).toBe('cascade_first');
    expect(pairs[0]!.teacher?.role).toBe('escalated');
  });

  it('escalates an invalid answer even when confident', async () => {
    const teacher = new ScriptedModel('teacher', async () => ({ text: 'refund' }));
    const student = new ScriptedModel('student', async () => ({ text: 'no idea', confidence: 0.99 }));
    const { call } = setup({ type: 'cascade', threshold: 0.5 }, teacher, student, { parseLabel });
    const r = await call();
    expect(r.arm).toBe('teacher');
    expect(r.reason).toMatch(/not a valid label/);
  });

  it('serves the student answer when the escalation target is down', async () => {
    const teacher = new ScriptedModel('teacher', async () => {
      throw new UpstreamError('teacher', 'HTTP 503', { upstreamStatus: 503 });
    });
    const student = new ScriptedModel('student', async () => ({ text: 'balance', confidence: 0.2 }));
    const { call } = setup({ type: 'cascade', threshold: 0.5 }, teacher, student, { parseLabel });
    const r = await call();
    expect(r.arm).toBe('student');
    expect(r.reason).toMatch(/teacher failed/);
  });
});

describe('fallback', () => {
  it('answers with the other arm when the primary fails, and records the failure', async () => {
    const order: string[] = [];
    const teacher = new ScriptedModel('teacher', async () => {
      order.push('teacher');
      throw new UpstreamError('teacher', 'HTTP 500', { upstreamStatus: 500 });
    });
    const student = new ScriptedModel('student', async () => (order.push('student'), { text: 'S' }));
    const { call, pairs } = setup({ type: 'pinned', arm: 'teacher' }, teacher, student);
    const r = await call();
    expect(order).toEqual(['teacher', 'student']);
    expect(r.arm).toBe('student');
    expect(r.reason).toMatch(/fallback to student after teacher failed/);
    await r.logged;
    expect(pairs[0]!.teacher?.role).toBe('fallback_failed');
    expect(pairs[0]!.student?.role).toBe('served');
  });

  it('falls back on a time-out of the primary within the routing budget', async () => {
    const teacher = new ScriptedModel('teacher', async (_r, signal) => {
      await sleep(5_000, signal);
      return { text: 'late' };
    });
    const student = new ScriptedModel('student', async () => ({ text: 'S' }));
    const { call } = setup({ type: 'pinned', arm: 'teacher' }, teacher, student, {}, { timeoutInMs: 100 });
    const t0 = performance.now();
    const r = await call();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(r.result.text).toBe('S');
  });

  it('does not fall back on a client error (4xx other than 408/409/429) and propagates it', async () => {
    const teacher = new ScriptedModel('teacher', async () => {
      throw new UpstreamError('teacher', 'HTTP 400: bad', { upstreamStatus: 400 });
    });
    const student = new ScriptedModel('student', async () => ({ text: 'S' }));
    const { call, pairs } = setup({ type: 'pinned', arm: 'teacher' }, teacher, student);
    await expect(call()).rejects.toBeInstanceOf(UpstreamError);
    expect(student.calls).toBe(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(pairs[0]!.teacher?.error?.status).toBe(502);
  });

  it('does not fall back when disabled', async () => {
    const teacher = new ScriptedModel('teacher', async () => {
      throw new UpstreamError('teacher', 'HTTP 500', { upstreamStatus: 500 });
    });
    const student = new ScriptedModel('student', async () => ({ text: 'S' }));
    const { call } = setup({ type: 'pinned', arm: 'teacher' }, teacher, student, {}, { fallback: false });
    await expect(call()).rejects.toMatchObject({ status: 502 });
    expect(student.calls).toBe(0);
  });
});

describe('pair records', () => {
  it('redacts personal data in stored text, never in the answer', async () => {
    const teacher = new ScriptedModel('teacher', async () => ({ text: 'We will write to jane.doe@example.com' }));
    const { call, pairs } = setup({ type: 'pinned', arm: 'teacher' }, teacher, undefined);
    const r = await call('My card is 4111 1111 1111 1111, call me on +44 20 7946 0958, mail jane.doe@example.com');
    expect(r.result.text).toContain('jane.doe@example.com');
    await r.logged;
    const stored = JSON.stringify(pairs[0]);
    expect(stored).not.toContain('4111');
    expect(stored).not.toContain('7946');
    expect(stored).not.toContain('jane.doe');
    expect(pairs[0]!.redacted).toEqual(['card', 'email', 'phone']);
    expect(pairs[0]!.request.messages[0]).toEqual({ role: 'user', content: 'My card is [CARD], call me on [PHONE], mail [EMAIL]' });
  });

  it('stores nothing for store: false', async () => {
    const teacher = new ScriptedModel('teacher', async () => ({ text: 'T' }));
    const { call, pairs } = setup({ type: 'pinned', arm: 'teacher' }, teacher, undefined);
    const r = await call('x', { store: false });
    await r.logged;
    expect(pairs).toHaveLength(0);
  });
});
