import type { CallOptions, ChatModelRequest, ChatModelResult, ChatStreamEvent } from '../chat/chat-model-types.js';
import { DistilleryError, UpstreamError } from '../errors.js';
import type { ChatModel, Clock } from '../ports.js';

// A circuit breaker per upstream model: after `failureThreshold` consecutive failures the circuit
// opens and calls fail at once (503, retryable) for `cooldownInMs`, so a dead teacher does not
// pile up requests waiting for time-outs and the router falls back to the other arm at once.
// After the cool-down one probe call is let through (half-open): success closes the circuit,
// failure opens it again. Client errors (bad requests) say nothing about the upstream's health.

export interface CircuitBreakerOptions {
  failureThreshold?: number;
  cooldownInMs?: number;
  clock: Clock;
}

export type CircuitState = 'closed' | 'open' | 'half_open';

function countsAsFailure(err: unknown): boolean {
  if (err instanceof UpstreamError) return err.upstreamStatus === undefined || err.upstreamStatus >= 500 || err.upstreamStatus === 429 || err.upstreamStatus === 408;
  if (err instanceof DistilleryError) return err.status >= 500;
  return !(err instanceof Error && err.name === 'AbortError');
}

export class CircuitBreakerChatModel implements ChatModel {
  readonly id: string;
  readonly hosting: ChatModel['hosting'];
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly threshold: number;
  private readonly cooldownInMs: number;

  constructor(
    private readonly inner: ChatModel,
    private readonly options: CircuitBreakerOptions,
  ) {
    this.id = inner.id;
    this.hosting = inner.hosting;
    this.threshold = options.failureThreshold ?? 5;
    this.cooldownInMs = options.cooldownInMs ?? 10_000;
  }

  get state(): CircuitState {
    if (this.failures < this.threshold) return 'closed';
    return this.options.clock.now() - this.openedAt >= this.cooldownInMs ? 'half_open' : 'open';
  }

  /** Throws when the call must not go through; returns whether it is the half-open probe. */
  private admit(): boolean {
    const state = this.state;
    if (state === 'closed') return false;
    if (state === 'half_open' && !this.probing) {
      this.probing = true;
      return true;
    }
    const waitInMs = Math.max(0, this.cooldownInMs - (this.options.clock.now() - this.openedAt));
    throw new DistilleryError(`Upstream model '${this.id}' is failing; circuit open for ${Math.ceil(waitInMs / 1000)} s more.`, {
      status: 503,
      type: 'upstream_error',
      code: 'circuit_open',
      retryable: true,
      retryAfterInSeconds: Math.max(1, Math.ceil(waitInMs / 1000)),
    });
  }

  private onSuccess(probe: boolean) {
    this.failures = 0;
    if (probe) this.probing = false;
  }

  private onFailure(err: unknown, probe: boolean) {
    if (probe) this.probing = false;
    if (!countsAsFailure(err)) return;
    this.failures++;
    if (this.failures >= this.threshold) this.openedAt = this.options.clock.now();
  }

  async generate(request: ChatModelRequest, options?: CallOptions): Promise<ChatModelResult> {
    const probe = this.admit();
    try {
      const result = await this.inner.generate(request, options);
      this.onSuccess(probe);
      return result;
    } catch (err) {
      this.onFailure(err, probe);
      throw err;
    }
  }

  async *stream(request: ChatModelRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent> {
    const probe = this.admit();
    let settled = false;
    try {
      for await (const ev of this.inner.stream(request, options)) {
        if (!settled) {
          settled = true;
          this.onSuccess(probe);
        }
        yield ev;
      }
      if (!settled) this.onSuccess(probe);
    } catch (err) {
      if (!settled) this.onFailure(err, probe);
      throw err;
    }
  }
}
