import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { DistilleryError, UpstreamError, type ErrorType } from '../core/errors.js';
import { redactText } from '../core/pairs/redaction.js';
import { scrubSecrets } from '../core/scrub-secrets.js';

// The single translation of errors into OpenAI's error object, used by app.onError and by the
// SSE writer for failures after the stream has started.

export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType | string; param: string | null; code: string | null };
}

export function toOpenAIError(err: unknown): { status: ContentfulStatusCode; body: OpenAIErrorBody; headers: Record<string, string> } {
  if (err instanceof DistilleryError) {
    const headers: Record<string, string> = {};
    if (err.retryAfterInSeconds !== undefined) headers['retry-after'] = String(Math.ceil(err.retryAfterInSeconds));
    // An upstream's own words may hold keys, paths or prompt text: clients get a generic message,
    // the operator's log the original (see describeForLog).
    const message = err instanceof UpstreamError ? upstreamClientMessage(err) : err.message;
    return {
      status: err.status as ContentfulStatusCode,
      body: { error: { message, type: err.type, param: err.param, code: err.code } },
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

function upstreamClientMessage(err: UpstreamError): string {
  if (err.status === 504) return `The upstream model '${err.model}' timed out.`;
  return `The upstream model '${err.model}' failed${err.upstreamStatus ? ` (HTTP ${err.upstreamStatus})` : ''}.`;
}

// Log lines never carry prompt text or credentials: personal data and keys are redacted.
const LOG_REDACTION = { enabled: true, kinds: ['email', 'phone', 'card'] as ('email' | 'phone' | 'card')[], maxFieldChars: 16 * 1024 };
const forLog = (text: string, maxChars: number) => scrubSecrets(redactText(text, LOG_REDACTION).text, maxChars);

/**
 * The log line for a failed request, or undefined when the client's error says it all: upstream
 * failures with the upstream's own (redacted) words, and unexpected errors with their stack.
 */
export function describeForLog(err: unknown, where: string): string | undefined {
  if (err instanceof UpstreamError) return `${where}: upstream error (${err.status}): ${forLog(err.message, 500)}`;
  if (err instanceof DistilleryError || err instanceof z.ZodError || err instanceof HTTPException) {
    return err instanceof DistilleryError && err.status >= 500 ? `${where}: ${err.code} (${err.status}): ${forLog(err.message, 500)}` : undefined;
  }
  const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  return `${where}: unexpected error, answered 500: ${forLog(text, 4000)}`;
}
