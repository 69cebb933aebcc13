import { DistilleryError } from '../../core/errors.js';

// Retry for Cosmos DB calls on top of the SDK's own throttling retries (which give up after 9
// attempts per request). 429 waits exactly what the service asks (retryAfterInMs); 408/449/503
// and dropped connections back off exponentially with jitter, capped.

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

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
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

export async function withCosmosRetry<T>(operation: () => Promise<T>, options: CosmosRetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 10;
  const base = options.baseDelayInMs ?? 50;
  const cap = options.maxDelayInMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (attempt >= maxAttempts || !isRetryable(err)) throw err;
      const retryAfter = (err as { retryAfterInMs?: unknown }).retryAfterInMs;
      const delay =
        statusOf(err) === 429 && typeof retryAfter === 'number' && retryAfter >= 0
          ? retryAfter
          : Math.min(cap, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      await sleep(delay, options.abortSignal);
    }
  }
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
