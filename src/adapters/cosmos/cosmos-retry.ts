import { DistilleryError } from '../../core/errors.js';
import { withRetry } from '../../core/retry.js';

// Retry for Cosmos DB calls on top of the SDK's own throttling retries (which give up after 9
// attempts per request), through core/retry: 429 waits what the service asks (the SDK's
// retryAfterInMs on the error); 408/449/503 and dropped connections back off with jitter, capped.

export interface CosmosRetryOptions {
  maxAttempts?: number;
  baseDelayInMs?: number;
  maxDelayInMs?: number;
  abortSignal?: AbortSignal;
}

export const statusOf = (err: unknown): number | undefined => {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return undefined;
};

const RETRYABLE = new Set([408, 429, 449, 500, 503]);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET']);

export function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined) return RETRYABLE.has(status);
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && NETWORK.has(code);
}

export function withCosmosRetry<T>(operation: () => Promise<T>, options: CosmosRetryOptions = {}): Promise<T> {
  return withRetry(operation, {
    maxAttempts: options.maxAttempts ?? 10,
    baseDelayInMs: options.baseDelayInMs ?? 50,
    maxDelayInMs: options.maxDelayInMs ?? 10_000,
    isRetryable,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  });
}

/** Turns a Cosmos failure that escaped the retries into a typed error. */
export function cosmosFailure(what: string, err: unknown): DistilleryError {
  if (err instanceof DistilleryError) return err;
  const status = statusOf(err);
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new DistilleryError(`Cosmos DB ${what} failed${status ? ` (${status})` : ''}: ${message}`, {
    status: status === 429 ? 503 : 502,
    type: 'server_error',
    code: status === 429 ? 'store_throttled' : 'store_unavailable',
    retryable: isRetryable(err),
    cause: err,
  });
}
