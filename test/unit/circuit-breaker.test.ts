import { describe, expect, it } from 'vitest';
import type { ChatModelRequest, ChatModelResult, ChatStreamEvent } from '../../src/core/chat/chat-model-types.js';
import { UpstreamError } from '../../src/core/errors.js';
import type { ChatModel } from '../../src/core/ports.js';
import { CircuitBreakerChatModel } from '../../src/core/routing/circuit-breaker.js';

class Flaky implements ChatModel {
  readonly id = 'teacher';
  readonly hosting = 'remote' as const;
  calls = 0;
  failWith: unknown = undefined;
  async generate(_r: ChatModelRequest): Promise<ChatModelResult> {
    this.calls++;
    if (this.failWith) throw this.failWith;
    return { model: 'm', text: 'ok', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } };
  }
  async *stream(r: ChatModelRequest): AsyncIterable<ChatStreamEvent> {
    const res = await this.generate(r);
    yield { type: 'finish', finishReason: res.finishReason, model: res.model };
  }
}

describe('circuit breaker', () => {
  const req = { messages: [{ role: 'user' as const, content: 'x' }] };

  it('opens after consecutive failures, fails fast, probes after the cool-down and closes on success', async () => {
    let now = 0;
    const inner = new Flaky();
    const cb = new CircuitBreakerChatModel(inner, { failureThreshold: 3, cooldownInMs: 1000, clock: { now: () => now } });
    inner.failWith = new UpstreamError('teacher', 'HTTP 503', { upstreamStatus: 503 });
    for (let i = 0; i < 3; i++) await expect(cb.generate(req)).rejects.toBeInstanceOf(UpstreamError);
    expect(cb.state).toBe('open');
    await expect(cb.generate(req)).rejects.toMatchObject({ status: 503, code: 'circuit_open', retryAfterInSeconds: 1 });
    expect(inner.calls).toBe(3); // the open circuit did not call upstream
    now = 1000;
    expect(cb.state).toBe('half_open');
    inner.failWith = undefined;
    await expect(cb.generate(req)).resolves.toMatchObject({ text: 'ok' });
    expect(cb.state).toBe('closed');
  });

  it('a failed probe opens the circuit again', async () => {
    let now = 0;
    const inner = new Flaky();
    const cb = new CircuitBreakerChatModel(inner, { failureThreshold: 1, cooldownInMs: 100, clock: { now: () => now } });
    inner.failWith = new UpstreamError('teacher', 'timed out', { timeout: true });
    await expect(cb.generate(req)).rejects.toBeDefined();
    now = 150;
    await expect(cb.generate(req)).rejects.toBeInstanceOf(UpstreamError);
    expect(cb.state).toBe('open');
    expect(inner.calls).toBe(2);
  });

  it('client errors do not count', async () => {
    const inner = new Flaky();
    const cb = new CircuitBreakerChatModel(inner, { failureThreshold: 2, clock: { now: () => 0 } });
    inner.failWith = new UpstreamError('teacher', 'HTTP 400', { upstreamStatus: 400 });
    for (let i = 0; i < 5; i++) await expect(cb.generate(req)).rejects.toBeDefined();
    expect(cb.state).toBe('closed');
  });

  it('counts a stream that fails mid-way, and gives no verdict when the consumer stops reading', async () => {
    const midStreamFailure: ChatModel = {
      id: 'teacher',
      hosting: 'remote',
      generate: async () => {
        throw new Error('unused');
      },
      async *stream() {
        yield { type: 'delta', text: 'a' };
        throw new UpstreamError('teacher', 'timed out', { timeout: true });
      },
    };
    const cb = new CircuitBreakerChatModel(midStreamFailure, { failureThreshold: 2, cooldownInMs: 1000, clock: { now: () => 0 } });
    for (let i = 0; i < 2; i++) {
      const events: unknown[] = [];
      await expect(
        (async () => {
          for await (const ev of cb.stream(req)) events.push(ev);
        })(),
      ).rejects.toMatchObject({ code: 'upstream_timeout' });
      expect(events).toHaveLength(1);
    }
    expect(cb.state).toBe('open');
    expect(cb.inFlight).toBe(0);

    const abandoned = new CircuitBreakerChatModel(midStreamFailure, { failureThreshold: 1, clock: { now: () => 0 } });
    for await (const _ev of abandoned.stream(req)) break;
    expect(abandoned.state).toBe('closed');
    expect(abandoned.inFlight).toBe(0);
  });

  it('counts a call still unanswered after slowCallInMs as a failure without waiting for it', async () => {
    let finish: () => void = () => undefined;
    const stalled: ChatModel = {
      id: 'teacher',
      hosting: 'remote',
      generate: () => new Promise((_resolve, reject) => (finish = () => reject(new UpstreamError('teacher', 'timed out', { timeout: true })))),
      stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => undefined) }) }),
    };
    const cb = new CircuitBreakerChatModel(stalled, { failureThreshold: 1, cooldownInMs: 60_000, slowCallInMs: 20, clock: { now: () => 0 } });
    const call = cb.generate(req).catch((e: unknown) => e);
    await expect.poll(() => cb.state, { timeout: 5_000 }).toBe('open');
    await expect(cb.generate(req)).rejects.toMatchObject({ code: 'circuit_open' });
    finish();
    await call;
    expect(cb.inFlight).toBe(0);
  });
});
