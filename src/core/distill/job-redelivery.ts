import { backoffDelayInMs } from '../retry.js';

// How long a failed job message waits before its next delivery: exponential from 10 s, capped at
// 5 min, with jitter. With 5 deliveries the four waits add up to at least 75 s (about 110 s on
// average), so a store outage of a minute does not use up a job's deliveries.

export const JOB_REDELIVERY_BACKOFF = { baseDelayInMs: 10_000, maxDelayInMs: 300_000 } as const;

export function jobRedeliveryDelayInMs(failedDeliveryCount: number, random: () => number = Math.random): number {
  return backoffDelayInMs(failedDeliveryCount, { ...JOB_REDELIVERY_BACKOFF, random });
}
