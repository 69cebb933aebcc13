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
});
