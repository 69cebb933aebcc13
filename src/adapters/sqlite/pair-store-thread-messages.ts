import { DistilleryError, type ErrorType } from '../../core/errors.js';

// What crosses the boundary between ThreadedSqlitePairStore (serving thread) and its SQLite
// thread: requests by id, answers by id, and errors as plain data so the typed error (status,
// code, retryable) survives the structured clone — the pair writer decides by them whether to
// spool and retry or to reject a batch for good.

export type PairStoreOp = 'upsertMany' | 'get' | 'getCounter' | 'flush' | 'listOpen' | 'listNext' | 'listClose' | 'close';

export interface PairStoreRequest {
  id: number;
  op: PairStoreOp;
  args: unknown[];
}

export interface SerializedError {
  message: string;
  name?: string;
  status?: number;
  type?: ErrorType;
  code?: string;
  param?: string | null;
  retryable?: boolean;
  retryAfterInSeconds?: number;
}

export type PairStoreAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof DistilleryError) {
    const { message, name, status, type, code, param, retryable, retryAfterInSeconds } = err;
    return { message, name, status, type, code, param, retryable, ...(retryAfterInSeconds === undefined ? {} : { retryAfterInSeconds }) };
  }
  const e = err as { message?: unknown; name?: unknown; code?: unknown } | null;
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.name === 'string' ? { name: e.name } : {}),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}

export function deserializeError(e: SerializedError): Error {
  if (e.status !== undefined && e.type !== undefined && e.code !== undefined) {
    return new DistilleryError(e.message, {
      status: e.status,
      type: e.type,
      code: e.code,
      param: e.param ?? null,
      retryable: e.retryable ?? false,
      ...(e.retryAfterInSeconds === undefined ? {} : { retryAfterInSeconds: e.retryAfterInSeconds }),
    });
  }
  // Anything untyped from SQLite (an I/O error, a corrupt file) is a server error the writer retries.
  return new DistilleryError(`SqlitePairStore: ${e.message}`, { status: 503, type: 'server_error', code: e.code ?? 'store_error', retryable: true });
}
