import { DistilleryError } from '../core/errors.js';
import type { Clock } from '../core/ports.js';
import { TokenBucketLimiter } from './token-bucket-limiter.js';

// Failed authentications are counted per source in a token bucket: a source that keeps presenting
// wrong keys gets 429 with retry-after (OpenAI's shape) instead of having every guess checked,
// and one log line when it is first throttled. Other sources, and the source itself once its
// bucket refills, are unaffected. Per process, like the per-key limiter.

export interface FailedAuthLimit {
  /** Failures forgiven per second once the burst is spent (default 0.5). */
  ratePerSecond: number;
  /** Failures allowed in a burst (default 20). */
  burst: number;
}

export const DEFAULT_FAILED_AUTH_LIMIT: FailedAuthLimit = { ratePerSecond: 0.5, burst: 20 };

export class FailedAuthThrottle {
  private readonly buckets: TokenBucketLimiter;

  constructor(
    clock: Clock,
    private readonly limit: FailedAuthLimit = DEFAULT_FAILED_AUTH_LIMIT,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.buckets = new TokenBucketLimiter(clock, limit.burst / limit.ratePerSecond);
  }

  /** Throws 429 while `source` is throttled. */
  check(source: string): void {
    const waitInMs = this.buckets.wait(source, this.limit.ratePerSecond);
    if (waitInMs > 0) {
      throw new DistilleryError('Too many failed authentication attempts from this address; retry later.', {
        status: 429,
        type: 'rate_limit_error',
        code: 'too_many_failed_auth',
        retryable: true,
        retryAfterInSeconds: waitInMs / 1000,
      });
    }
  }

  recordFailure(source: string): void {
    this.buckets.take(source, this.limit.ratePerSecond);
    if (this.buckets.wait(source, this.limit.ratePerSecond) > 0) {
      this.log(`failed authentication: too many failures from ${source}; throttled (429) until its budget refills`);
    }
  }
}
