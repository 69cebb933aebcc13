// The deadlines of one upstream call. The openai SDK's own `timeout` stops at the response headers:
// a teacher that stalls after them (or mid-stream) would hold the request, its socket and its memory
// forever. This aborts the call when its total budget runs out or when the body goes silent for the
// idle time-out (Envoy's stream idle time-out, LiteLLM's stream_timeout), whichever comes first.

export interface CallDeadlineOptions {
  /** Whole call, retries and body included. */
  totalInMs: number;
  /** Longest silence allowed while a body or stream is being read (re-armed by `touch`). */
  idleInMs: number;
  /** The caller's signal (the client went away): aborts the call too, but is not a time-out. */
  signal?: AbortSignal;
}

export class CallDeadline {
  private readonly controller = new AbortController();
  private readonly totalTimer: ReturnType<typeof setTimeout>;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onCallerAbort?: () => void;
  /** Which limit ended the call, if one did. */
  expired: 'total' | 'idle' | undefined;

  constructor(private readonly options: CallDeadlineOptions) {
    this.totalTimer = setTimeout(() => this.expire('total'), options.totalInMs);
    const caller = options.signal;
    if (caller) {
      if (caller.aborted) this.controller.abort(caller.reason);
      else {
        this.onCallerAbort = () => this.controller.abort(caller.reason);
        caller.addEventListener('abort', this.onCallerAbort, { once: true });
      }
    }
  }

  /** Aborted on a time-out (reason: a TimeoutError) or when the caller aborts (the caller's reason). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Bytes or events arrived: the idle clock starts again. */
  touch(): void {
    if (this.controller.signal.aborted) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.expire('idle'), this.options.idleInMs);
  }

  /** The consumer holds the next read (back-pressure), so silence is not the upstream's fault. */
  pauseIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  dispose(): void {
    clearTimeout(this.totalTimer);
    this.pauseIdle();
    if (this.onCallerAbort) this.options.signal?.removeEventListener('abort', this.onCallerAbort);
  }

  private expire(which: 'total' | 'idle') {
    if (this.controller.signal.aborted) return;
    this.expired = which;
    const ms = which === 'total' ? this.options.totalInMs : this.options.idleInMs;
    this.controller.abort(new DOMException(`${which === 'total' ? 'deadline' : 'idle time-out'} of ${ms} ms exceeded`, 'TimeoutError'));
    this.dispose();
  }
}
