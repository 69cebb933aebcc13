import type { CallOptions, ChatModelRequest, ChatModelResult, ChatStreamEvent } from '../chat/chat-model-types.js';
import { DistilleryError, isAbortError, UpstreamError } from '../errors.js';
import type { ChatModel, Clock } from '../ports.js';

// A circuit breaker per upstream model: after `failureThreshold` consecutive failures the circuit
// opens and calls fail at once (503, retryable) for `cooldownInMs`, so a dead teacher does not
// pile up requests waiting for time-outs and the router falls back to the other arm at once.
// After the cool-down one probe call is let through (half-open): success closes the circuit,
// failure opens it again. Client errors (bad requests) say nothing about the upstream's health.
//
// A stalled upstream would otherwise be counted only when each call's time-out fires (a minute or
// more, per try), so a call still without an answer after `slowCallInMs` counts as a failure at
// once (resilience4j's slow-call threshold). A stream's verdict is its end: a stall or a cut in the
// middle counts too. `maxInFlight` bounds the calls waiting on this one upstream (a bulkhead).

export interface CircuitBreakerOptions {
  failureThreshold?: number;
  cooldownInMs?: number;
  /** A call without an answer (or a stream without its first event) after this long counts as a failure. */
  slowCallInMs?: number;
  /** Calls in flight to this upstream at once; beyond it 503 at once. 0 or absent = no cap. */
  maxInFlight?: number;
  clock: Clock;
}

export type CircuitState = 'closed' | 'open' | 'half_open';

function countsAsFailure(err: unknown): boolean {
  if (err instanceof UpstreamError) return err.upstreamStatus === undefined || err.upstreamStatus >= 500 || err.upstreamStatus === 429 || err.upstreamStatus === 408;
  if (err instanceof DistilleryError) return err.status >= 500;
  return !isAbortError(err);
}

/** One admitted call: its verdict is given once (success, failure, or none when abandoned). */
interface CallTicket {
  probe: boolean;
  /** Counted as a failure already (slow); its outcome is not counted again. */
  countedSlow: boolean;
  settled: boolean;
  slowTimer?: ReturnType<typeof setTimeout>;
}

export class CircuitBreakerChatModel implements ChatModel {
  readonly id: string;
  readonly hosting: ChatModel['hosting'];
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly threshold: number;
  private readonly cooldownInMs: number;
  private readonly slowCallInMs: number | undefined;
  private readonly maxInFlight: number;
  /** Calls to this upstream now, and calls refused because the cap was reached. */
  inFlight = 0;
  refusedBusy = 0;

  constructor(
    private readonly inner: ChatModel,
    private readonly options: CircuitBreakerOptions,
  ) {
    this.id = inner.id;
    this.hosting = inner.hosting;
    this.threshold = options.failureThreshold ?? 5;
    this.cooldownInMs = options.cooldownInMs ?? 10_000;
    this.slowCallInMs = options.slowCallInMs;
    this.maxInFlight = options.maxInFlight ?? 0;
  }

  get state(): CircuitState {
    if (this.failures < this.threshold) return 'closed';
    return this.options.clock.now() - this.openedAt >= this.cooldownInMs ? 'half_open' : 'open';
  }

  /** Throws when the call must not go through; otherwise the call's ticket. */
  private admit(): CallTicket {
    if (this.maxInFlight > 0 && this.inFlight >= this.maxInFlight) {
      this.refusedBusy++;
      throw new DistilleryError(`Upstream model '${this.id}' has ${this.inFlight} calls in flight (the cap); try again shortly.`, {
        status: 503,
        type: 'upstream_error',
        code: 'upstream_busy',
        retryable: true,
        retryAfterInSeconds: 1,
      });
    }
    const state = this.state;
    let probe = false;
    if (state === 'half_open' && !this.probing) {
      this.probing = true;
      probe = true;
    } else if (state !== 'closed') {
      const waitInMs = Math.max(0, this.cooldownInMs - (this.options.clock.now() - this.openedAt));
      throw new DistilleryError(`Upstream model '${this.id}' is failing; circuit open for ${Math.ceil(waitInMs / 1000)} s more.`, {
        status: 503,
        type: 'upstream_error',
        code: 'circuit_open',
        retryable: true,
        retryAfterInSeconds: Math.max(1, Math.ceil(waitInMs / 1000)),
      });
    }
    this.inFlight++;
    const ticket: CallTicket = { probe, countedSlow: false, settled: false };
    if (this.slowCallInMs !== undefined) {
      ticket.slowTimer = setTimeout(() => {
        ticket.countedSlow = true;
        this.countFailure();
      }, this.slowCallInMs);
      // A pending slow-call timer must never keep a process alive on its own.
      (ticket.slowTimer as { unref?: () => void }).unref?.();
    }
    return ticket;
  }

  /** The upstream answered (or sent its first event): it is alive, the slow-call clock stops. */
  private answered(ticket: CallTicket) {
    if (ticket.slowTimer) clearTimeout(ticket.slowTimer);
    ticket.slowTimer = undefined;
  }

  private settle(ticket: CallTicket, outcome: { ok: true } | { ok: false; err: unknown } | undefined) {
    if (ticket.settled) return;
    ticket.settled = true;
    this.answered(ticket);
    this.inFlight--;
    if (ticket.probe) this.probing = false;
    if (!outcome) return;
    if (outcome.ok) {
      if (!ticket.countedSlow) this.failures = 0;
    } else if (!ticket.countedSlow && countsAsFailure(outcome.err)) {
      this.countFailure();
    }
  }

  private countFailure() {
    this.failures++;
    if (this.failures >= this.threshold) this.openedAt = this.options.clock.now();
  }

  async generate(request: ChatModelRequest, options?: CallOptions): Promise<ChatModelResult> {
    const ticket = this.admit();
    try {
      const result = await this.inner.generate(request, options);
      this.settle(ticket, { ok: true });
      return result;
    } catch (err) {
      this.settle(ticket, { ok: false, err });
      throw err;
    }
  }

  async *stream(request: ChatModelRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent> {
    const ticket = this.admit();
    try {
      for await (const ev of this.inner.stream(request, options)) {
        this.answered(ticket);
        yield ev;
      }
      this.settle(ticket, { ok: true });
    } catch (err) {
      this.settle(ticket, { ok: false, err });
      throw err;
    } finally {
      // The consumer stopped reading (the client left): no verdict on the upstream.
      this.settle(ticket, undefined);
    }
  }
}
