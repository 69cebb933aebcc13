import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { DistilleryError, type ErrorType } from '../core/errors.js';

// The single translation of errors into OpenAI's error object, used by app.onError and by the
// SSE writer for failures after the stream has started.

export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType | string; param: string | null; code: string | null };
}

export function toOpenAIError(err: unknown): { status: ContentfulStatusCode; body: OpenAIErrorBody; headers: Record<string, string> } {
  if (err instanceof DistilleryError) {
    const headers: Record<string, string> = {};
    if (err.retryAfterInSeconds !== undefined) headers['retry-after'] = String(Math.ceil(err.retryAfterInSeconds));
    return {
      status: err.status as ContentfulStatusCode,
      body: { error: { message: err.message, type: err.type, param: err.param, code: err.code } },
      headers,
    };
  }
  if (err instanceof z.ZodError) {
    const issue = err.issues[0];
    const param = issue ? issue.path.map(String).join('.') || null : null;
    const message = err.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`)
      .join('; ');
    return {
      status: 400,
      body: { error: { message: `Invalid request: ${message}`, type: 'invalid_request_error', param, code: 'invalid_value' } },
      headers: {},
    };
  }
  if (err instanceof HTTPException) {
    return {
      status: err.status as ContentfulStatusCode,
      body: { error: { message: err.message || 'Request failed.', type: 'invalid_request_error', param: null, code: null } },
      headers: {},
    };
  }
  // Unknown errors are bugs: never leak their text (it may hold prompt content or secrets).
  return {
    status: 500,
    body: { error: { message: 'Internal server error.', type: 'server_error', param: null, code: 'internal_error' } },
    headers: {},
  };
}
