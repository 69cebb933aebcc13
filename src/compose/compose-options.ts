import type { TokenCredential } from '@azure/identity';
import type { JobRunnerDeps } from '../core/distill/job-runner.js';
import type { Clock, JobQueue, JobStore, PairStore, Trainer } from '../core/ports.js';

export interface ComposeOptions {
  clock?: Clock;
  random?: () => number;
  /** Passed to every OpenAI-SDK client (tests, proxies). */
  fetch?: typeof fetch;
  /** Use this store instead of the configured one (tests, tools). */
  pairStore?: PairStore;
  /** Use this job store / job queue instead of the configured one (tests: fault injection, a fake clock). */
  jobStore?: JobStore;
  jobQueue?: JobQueue;
  /** Extra trainers by kind (e.g. a fine-tuning trainer pointed at a test server). */
  trainers?: Record<string, Trainer>;
  /** When no keys are configured, generate one (standalone server). */
  generateKeyIfNone?: boolean;
  /** How stale a task's promoted student may be in this process (default 2 s). */
  studentRefreshInMs?: number;
  credential?: TokenCredential;
  /** Test hook passed to the job runner. */
  afterJobStep?: JobRunnerDeps['afterStep'];
  /** How long a silent job worker keeps its lease (default 60 s; tests shorten it). */
  jobLeaseDurationInMs?: number;
  /** Wait before a failed job message is delivered again (default: core/distill/job-redelivery.ts; tests shorten it). */
  jobRedeliveryDelayInMs?: (failedDeliveryCount: number) => number;
  log?: (message: string) => void;
}
