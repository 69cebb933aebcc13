import { DistilleryError } from './errors.js';

// How Distillery waits and retries, in one place (outside the openai SDK's own retries): capped
// exponential back-off with jitter, an upstream's own hint first, and a sleep that an abort signal
// ends. Adapters translate HTTP headers (retry-after, retry-after-ms, x-ms-retry-after-ms) into the
// hint on the error they throw — `retryAfterInSeconds` on a DistilleryError, or `retryAfterInMs`
// as the Azure SDKs set it — so core never parses a header.

export interface BackoffOptions {
  /** First delay (attempt 1). */
  baseDelayInMs: number;
  /** No delay exceeds this, hint included. */
  maxDelayInMs: number;
  /** Injected for tests; Math.random by default. */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (1-based): base × 2^(attempt−1), capped, with "equal
 * jitter" (half fixed, half random) so that many clients retrying together spread out but none
 * retries at once.
 */
export function backoffDelayInMs(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const exp = Math.min(options.maxDelayInMs, options.baseDelayInMs * 2 ** Math.max(0, attempt - 1));
  return exp / 2 + (exp / 2) * random();
}

/** How long the failure asked us to wait, if it said: the hint an adapter put on the error. */
export function retryHintInMs(err: unknown): number | undefined {
  if (err instanceof DistilleryError && err.retryAfterInSeconds !== undefined) return Math.max(0, err.retryAfterInSeconds * 1000);
  const ms = (err as { retryAfterInMs?: unknown } | null | undefined)?.retryAfterInMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The wait before the next attempt: the upstream's hint when it gave one (capped), else back-off. */
export function retryDelayInMs(err: unknown, attempt: number, options: BackoffOptions): number {
  const hint = retryHintInMs(err);
  return hint !== undefined ? Math.min(hint, options.maxDelayInMs) : backoffDelayInMs(attempt, options);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions extends BackoffOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  isRetryable(err: unknown): boolean;
  abortSignal?: AbortSignal;
  /** Injected for tests (a fake clock); abortableSleep by default. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called before each wait (metrics, logs). */
  onRetry?: (err: unknown, attempt: number, delayInMs: number) => void;
}

/** Runs `operation` until it succeeds, fails for good, or runs out of attempts (the last error is thrown). */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    options.abortSignal?.throwIfAborted();
    try {
      return await operation(attempt);
    } catch (err) {
      if (attempt >= options.maxAttempts || !options.isRetryable(err) || options.abortSignal?.aborted) throw err;
      const delay = retryDelayInMs(err, attempt, options);
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.abortSignal);
    }
  }
}

export interface RetryWithinBudgetOptions {
  /** Which failures are worth waiting out (e.g. a fine-tuning quota); others are thrown at once. */
  isRetryable(err: unknown): boolean;
  /** The wait when the failure gives no hint. */
  intervalInMs: number;
  /** Total time to keep waiting; then `onExhausted` says what to throw. */
  budgetInMs: number;
  /** The failure's own hint (default: the hint an adapter put on the error, see retryHintInMs). */
  hintInMs?: (err: unknown) => number | undefined;
  onWait?: (err: unknown, waitInMs: number, attempt: number) => void;
  onExhausted: (err: unknown, waitedInMs: number) => Error;
  abortSignal?: AbortSignal;
  now?: () => number;
}

/**
 * Calls until it succeeds or fails otherwise, waiting out retryable failures (the hint, else a fixed
 * interval, never past the budget) — a resource limit that frees up in minutes, not a flaky call.
 */
export async function retryWithinBudget<T>(call: () => Promise<T>, options: RetryWithinBudgetOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!options.isRetryable(err)) throw err;
      const waited = now() - started;
      if (waited >= options.budgetInMs) throw options.onExhausted(err, waited);
      const wait = Math.min((options.hintInMs ?? retryHintInMs)(err) ?? options.intervalInMs, options.budgetInMs - waited);
      options.onWait?.(err, wait, attempt);
      await abortableSleep(Math.max(1, wait), options.abortSignal);
    }
  }
}
