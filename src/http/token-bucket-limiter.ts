import type { Clock } from '../core/ports.js';

// Per-key token buckets: `rate` tokens per second, bursts of up to two seconds' worth. In memory,
// per process: on Azure Functions each instance limits independently, which bounds abuse per
// instance; a shared limit belongs in API Management in front of the app.

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    private readonly burstSeconds = 2,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes a token; returns 0 when allowed, else the milliseconds until a token is available. */
  take(key: string, ratePerSecond: number): number {
    const bucket = this.refill(key, ratePerSecond);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / ratePerSecond) * 1000);
  }

  /** Like take, without taking: 0 when a token is available, else the milliseconds until one is. */
  wait(key: string, ratePerSecond: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const capacity = Math.max(1, ratePerSecond * this.burstSeconds);
    const tokens = Math.min(capacity, bucket.tokens + ((this.clock.now() - bucket.updatedAt) / 1000) * ratePerSecond);
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / ratePerSecond) * 1000);
  }

  private refill(key: string, ratePerSecond: number): Bucket {
    const now = this.clock.now();
    const capacity = Math.max(1, ratePerSecond * this.burstSeconds);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.buckets.clear();
      bucket = { tokens: capacity, updatedAt: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond);
    bucket.updatedAt = now;
    return bucket;
  }
}
