import { describe, expect, it } from 'vitest';
import { retryWithinBudget } from '../../src/core/retry.js';

// The quota wait both fine-tuning trainers use: retry what is retryable, honour the hint, never
// past the budget, then fail with the caller's error.

const quota = (retryAfterInMs?: number) => Object.assign(new Error('quota'), { quota: true, ...(retryAfterInMs !== undefined ? { retryAfterInMs } : {}) });
const isQuota = (err: unknown) => (err as { quota?: boolean }).quota === true;

describe('retryWithinBudget', () => {
  it('waits out retryable failures, using the hint when there is one', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryWithinBudget(
      async () => {
        calls++;
        if (calls === 1) throw quota(5);
        if (calls === 2) throw quota();
        return 'ok';
      },
      { isRetryable: isQuota, intervalInMs: 20, budgetInMs: 10_000, onWait: (_e, w) => waits.push(w), onExhausted: () => new Error('exhausted') },
    );
    expect(result).toBe('ok');
    expect(waits).toEqual([5, 20]);
  });
  it('throws other failures at once and the caller\'s error once the budget is spent', async () => {
    await expect(retryWithinBudget(() => Promise.reject(new Error('bad request')), { isRetryable: isQuota, intervalInMs: 1, budgetInMs: 1000, onExhausted: () => new Error('exhausted') })).rejects.toThrow('bad request');
    let clock = 0;
    await expect(
      retryWithinBudget(
        async () => {
          clock += 400;
          throw quota(1);
        },
        { isRetryable: isQuota, intervalInMs: 1, budgetInMs: 1000, now: () => clock, onExhausted: (_e, waited) => new Error(`exhausted after ${waited}`) },
      ),
    ).rejects.toThrow('exhausted after 1200');
  });
});
