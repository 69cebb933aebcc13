import { describe, expect, it } from 'vitest';
import { scrubSecrets } from '../../src/core/scrub-secrets.js';
import { describeForLog, toOpenAIError } from '../../src/http/error-mapping.js';
import { UpstreamError } from '../../src/core/errors.js';

// Issue #14, row 11: what an upstream error may carry never reaches clients, and reaches the log
// without credentials or personal data.

describe('scrubSecrets', () => {
  it('removes API keys, bearer tokens and key=value secrets, and keeps the rest', () => {
    const text = 'Incorrect API key provided: sk-proj-abc123DEF456ghi. Authorization: Bearer eyJhbGciOi.J9abc; api_key=hunter2hunter2 and AccountKey=abc/def+ghi==; model gpt-4o';
    const out = scrubSecrets(text);
    for (const secret of ['abc123DEF456', 'eyJhbGciOi', 'hunter2', 'abc/def']) expect(out).not.toContain(secret);
    expect(out).toContain('sk-[REDACTED]');
    expect(out).toContain('model gpt-4o');
  });
  it('keeps log lines short and is linear on long input', () => {
    const long = 'sk-'.repeat(200_000);
    const started = performance.now();
    expect(scrubSecrets(long).length).toBeLessThanOrEqual(501);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('upstream errors at the edge', () => {
  const err = new UpstreamError('teacher', 'HTTP 401: Incorrect API key sk-live-ABCDEF0123456789 at /srv/app/.env, mail ops@example.com', { upstreamStatus: 401 });
  it('clients get status, type and a generic message', () => {
    const { status, body } = toOpenAIError(err);
    expect(status).toBe(502);
    expect(body.error).toEqual({ message: "The upstream model 'teacher' failed (HTTP 401).", type: 'upstream_error', param: null, code: 'upstream_error' });
    expect(toOpenAIError(new UpstreamError('teacher', 'timed out', { timeout: true })).body.error.message).toBe("The upstream model 'teacher' timed out.");
  });
  it('the log gets the upstream words, redacted', () => {
    const line = describeForLog(err, 'POST /v1/chat/completions [request r1]')!;
    expect(line).toContain('Incorrect API key');
    expect(line).not.toContain('sk-live-ABCDEF');
    expect(line).not.toContain('ops@example.com');
    expect(describeForLog(new Error('bug'), 'GET /x')).toMatch(/unexpected error, answered 500: Error: bug\n\s+at /);
  });
});
