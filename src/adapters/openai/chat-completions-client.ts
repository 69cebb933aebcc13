import type { Dispatcher } from 'undici';
import { UpstreamError } from '../../core/errors.js';
import { abortableSleep } from '../../core/retry.js';
import { scrubSecrets } from '../../core/scrub-secrets.js';
import { retryAfterHeaderInMs } from '../shared/retry-after-header.js';
import { createPool, requestOn } from './undici-pool.js';

// The teacher hot path: POST /chat/completions over a keep-alive undici Pool instead of the global
// fetch and the openai SDK around it. Node's fetch builds WHATWG Request/Response/Headers objects
// and web streams for every call; undici's `request` hands back a Node stream and a plain header
// object, which is what made a bare fetch proxy the floor of any Node gateway (issue 19).
// It keeps the SDK's semantics that matter, with the same numbers: retries on 408/409/429/5xx,
// connection errors and header time-outs (honouring `x-should-retry`), waiting `retry-after-ms` /
// `retry-after` when given, else 0.5 s × 2^n capped at 8 s with up to 25% jitter.

export interface ChatCompletionsClientOptions {
  /** Full URL of the chat-completions route (Azure: deployment path and api-version included). */
  url: string;
  /** Auth headers per attempt (static key, or an Entra ID token that refreshes). */
  authHeaders: () => Record<string, string> | Promise<Record<string, string>>;
  maxRetries: number;
  /** Keep-alive connections per origin (default 256). */
  connections?: number;
  /** Injected for tests; a Pool on the URL's origin by default. */
  dispatcher?: Dispatcher;
}

export interface PostOptions {
  /** Aborts the whole call: the caller's deadline or the client going away. */
  signal: AbortSignal;
  /** Per-attempt budget until the response headers (the SDK's `timeout`). */
  headersTimeoutInMs: number;
  stream: boolean;
}

/** Transport failures mapped onto the port's error by the model (it knows its id). */
export class WireError extends Error {
  constructor(
    message: string,
    readonly kind: 'status' | 'timeout' | 'connection',
    readonly status?: number,
    readonly retryAfterInMs?: number,
  ) {
    super(message);
    this.name = 'WireError';
  }

  toUpstreamError(model: string): UpstreamError {
    if (this.kind === 'timeout') return new UpstreamError(model, 'timed out', { timeout: true, cause: this });
    if (this.kind === 'connection') return new UpstreamError(model, this.message, { cause: this });
    const status = this.status!;
    return new UpstreamError(model, `HTTP ${status}: ${this.message}`, {
      upstreamStatus: status,
      retryable: status === 408 || status === 409 || status === 429 || status >= 500,
      ...(this.retryAfterInMs !== undefined ? { retryAfterInSeconds: this.retryAfterInMs / 1000 } : {}),
      cause: this,
    });
  }
}

const pools = new Map<string, Dispatcher>();

/** One keep-alive pool per origin, shared by every model on it (teacher and judge on one resource). */
function poolFor(origin: string, connections: number): Dispatcher {
  let pool = pools.get(origin);
  if (!pool) {
    // bodyTimeout 0: the caller's CallDeadline owns the idle time-out (it pauses under back-pressure).
    pool = createPool(origin, { connections, pipelining: 1, bodyTimeout: 0, keepAliveTimeout: 4_000 });
    pools.set(origin, pool);
  }
  return pool;
}

export class ChatCompletionsClient {
  private readonly dispatcher: Dispatcher;
  private readonly path: string;

  constructor(private readonly options: ChatCompletionsClientOptions) {
    const url = new URL(options.url);
    this.path = url.pathname + url.search;
    this.dispatcher = options.dispatcher ?? poolFor(url.origin, options.connections ?? 256);
  }

  /** Sends `body` (JSON text), retrying as the SDK does; resolves with a 2xx response whose body is unread. */
  async post(body: string, options: PostOptions): Promise<Dispatcher.ResponseData> {
    for (let retriesLeft = this.options.maxRetries; ; retriesLeft--) {
      let hint: number | undefined;
      try {
        const res = await this.attempt(body, options);
        if (res.statusCode < 400) return res;
        hint = retryAfterHeaderInMs(res.headers, Date.now());
        if (retriesLeft <= 0 || !retryableStatus(res.statusCode, res.headers['x-should-retry'])) {
          const text = await res.body.text().catch((e: Error) => e.message);
          throw new WireError(statusMessage(res.statusCode, text), 'status', res.statusCode, hint);
        }
        res.body.resume(); // the body of a response we retry is not needed
      } catch (err) {
        if (options.signal.aborted) throw options.signal.reason ?? err;
        if (err instanceof WireError) throw err;
        if (retriesLeft <= 0) throw connectionFailure(err);
      }
      await abortableSleep(hint ?? defaultRetryDelayInMs(this.options.maxRetries - retriesLeft), options.signal);
    }
  }

  private async attempt(body: string, options: PostOptions): Promise<Dispatcher.ResponseData> {
    const headers = {
      'content-type': 'application/json',
      accept: options.stream ? 'text/event-stream' : 'application/json',
      ...(await this.options.authHeaders()),
    };
    return requestOn(this.dispatcher, {
      method: 'POST',
      path: this.path,
      headers,
      body,
      signal: options.signal,
      headersTimeout: options.headersTimeoutInMs,
    });
  }
}

function retryableStatus(status: number, shouldRetry: string | string[] | undefined): boolean {
  if (shouldRetry === 'true') return true;
  if (shouldRetry === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The SDK's default wait before retry number n+1: 0.5 s × 2^n, at most 8 s, minus up to 25% jitter. */
export function defaultRetryDelayInMs(retriesDone: number): number {
  return Math.min(0.5 * 2 ** retriesDone, 8) * (1 - Math.random() * 0.25) * 1000;
}

function connectionFailure(err: unknown): WireError {
  const code = (err as { code?: string } | null)?.code ?? '';
  const text = `${String(err)} ${code}`;
  if (/timed? ?out|TIMEOUT/i.test(text)) return new WireError('timed out', 'timeout');
  return new WireError('Connection error.', 'connection');
}

/** The upstream's words (its `error.message` when it sent one), scrubbed: they reach logs and pair records. */
function statusMessage(status: number, text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: { message?: unknown } } | undefined)?.error;
  if (typeof error?.message === 'string') return scrubSecrets(error.message);
  // The SDK's APIError wording when the body has no message.
  const detail = error?.message !== undefined ? JSON.stringify(error.message) : error ? JSON.stringify(error) : text;
  return scrubSecrets(detail ? `${status} ${detail}` : `${status} status code (no body)`);
}
