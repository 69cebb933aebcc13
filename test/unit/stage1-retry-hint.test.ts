import { describe, expect, it } from 'vitest';
import { retryAfterHeaderInMs } from '../../src/adapters/shared/retry-after-header.js';
import { DistilleryError, UpstreamError } from '../../src/core/errors.js';
import { retryHintInMs } from '../../src/core/retry.js';

// Moved from task-types.test.ts ("reads retry-after from the error or the headers of its cause"):
// stage 1 no longer parses headers; adapters read them once and put the hint on the error.
describe('retry-after hints for stage 1', () => {
  it('reads retry-after headers at the adapter edge', () => {
    expect(retryAfterHeaderInMs(new Headers({ 'retry-after': '2' }), 0)).toBe(2000);
    expect(retryAfterHeaderInMs({ 'retry-after': new Date(10_000).toUTCString() }, 4_000)).toBe(6000);
    expect(retryAfterHeaderInMs({ 'retry-after': 'soon' }, 0)).toBeUndefined();
    expect(retryAfterHeaderInMs({ 'retry-after-ms': '250' }, 0)).toBe(250);
  });

  it('takes the hint from the error only', () => {
    expect(retryHintInMs(new UpstreamError('t', 'HTTP 429', { upstreamStatus: 429, retryAfterInSeconds: 3 }))).toBe(3000);
    expect(retryHintInMs(new DistilleryError('open', { status: 503, type: 'upstream_error', code: 'circuit_open', retryAfterInSeconds: 4 }))).toBe(4000);
    expect(retryHintInMs(new Error('plain'))).toBeUndefined();
  });
});
