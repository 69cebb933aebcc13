// Typed errors for the whole core. Only the HTTP edge (src/http/error-mapping.ts) turns them into
// OpenAI's error object; everything else throws or inspects these.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'conflict_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error';

export interface DistilleryErrorOptions {
  status: number;
  type: ErrorType;
  code: string;
  param?: string | null;
  retryable?: boolean;
  /** Seconds a client should wait before retrying (429 / 503). */
  retryAfterInSeconds?: number;
  cause?: unknown;
}

export class DistilleryError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | null;
  readonly retryable: boolean;
  readonly retryAfterInSeconds?: number;

  constructor(message: string, options: DistilleryErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DistilleryError';
    this.status = options.status;
    this.type = options.type;
    this.code = options.code;
    this.param = options.param ?? null;
    this.retryable = options.retryable ?? false;
    this.retryAfterInSeconds = options.retryAfterInSeconds;
  }
}

export const invalidRequest = (message: string, param: string | null = null, code = 'invalid_request') =>
  new DistilleryError(message, { status: 400, type: 'invalid_request_error', code, param });

export const notFound = (message: string, code = 'not_found', param: string | null = null) =>
  new DistilleryError(message, { status: 404, type: 'not_found_error', code, param });

export const unauthorized = (message = 'Invalid or missing API key.') =>
  new DistilleryError(message, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });

export const forbidden = (message = 'This API key may not use this route.') =>
  new DistilleryError(message, { status: 403, type: 'permission_error', code: 'insufficient_scope' });

export const payloadTooLarge = (limitInBytes: number) =>
  new DistilleryError(`Request body exceeds the limit of ${limitInBytes} bytes.`, {
    status: 413,
    type: 'invalid_request_error',
    code: 'request_too_large',
  });

export const rateLimited = (retryAfterInSeconds: number) =>
  new DistilleryError('Rate limit exceeded for this API key.', {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    retryable: true,
    retryAfterInSeconds,
  });

/** Thrown when an etag-guarded write loses a race (Cosmos 412, SQLite version mismatch). */
export class ConcurrencyError extends DistilleryError {
  constructor(message = 'The record was changed by another writer.') {
    super(message, { status: 409, type: 'conflict_error', code: 'etag_mismatch', retryable: true });
    this.name = 'ConcurrencyError';
  }
}

/** A failure of a teacher or student upstream. 502 for bad answers, 504 for time-outs. */
export class UpstreamError extends DistilleryError {
  readonly upstreamStatus?: number;
  readonly model: string;

  constructor(
    model: string,
    message: string,
    opts: { upstreamStatus?: number; timeout?: boolean; retryable?: boolean; retryAfterInSeconds?: number; cause?: unknown } = {},
  ) {
    super(`Upstream model '${model}' failed: ${message}`, {
      status: opts.timeout ? 504 : 502,
      type: opts.timeout ? 'timeout_error' : 'upstream_error',
      code: opts.timeout ? 'upstream_timeout' : 'upstream_error',
      retryable: opts.retryable ?? true,
      ...(opts.retryAfterInSeconds !== undefined ? { retryAfterInSeconds: opts.retryAfterInSeconds } : {}),
      cause: opts.cause,
    });
    this.name = 'UpstreamError';
    this.model = model;
    this.upstreamStatus = opts.upstreamStatus;
  }
}

export const isAbortError = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'AbortError' || err.name === 'APIUserAbortError');

/** Serializable summary of an error, as stored in pair records and job logs (never a stack). */
export interface ErrorSummary {
  status: number;
  code: string;
  message: string;
}

export function summarizeError(err: unknown): ErrorSummary {
  if (err instanceof DistilleryError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof Error) return { status: 500, code: 'internal_error', message: err.message };
  return { status: 500, code: 'internal_error', message: String(err) };
}
