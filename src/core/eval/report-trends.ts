import type { AgreementEstimate, ServedAgreementEstimate } from './agreement-estimates.js';
import { buildOnlineReport, type OnlineReportOptions, type OnlineTaskReport } from './online-report.js';
import type { Interval } from './statistics.js';
import type { PairRecord } from '../pairs/pair-record.js';
import { invalidRequest } from '../errors.js';

// Trends for the console: the window cut into buckets, each bucket a full online report of its own
// pairs, so every point carries the same labelled estimates with the same intervals as the report
// (student quality, escalation and served agreement, gold accuracy, latency percentiles, cost and
// savings), never a re-derivation. Each bucket reads only its own slice of the store, so the whole
// window is read once and memory holds one bucket's accumulators at a time.

/** Bucket widths the console offers, smallest first. */
export const TREND_BUCKETS_IN_MS = [60_000, 300_000, 900_000, 3_600_000, 10_800_000, 21_600_000, 86_400_000, 604_800_000] as const;
export const MAX_TREND_BUCKETS = 48;

/** The smallest standard width that cuts the span into at most `max` buckets. */
export function chooseTrendBucket(spanInMs: number, max = MAX_TREND_BUCKETS): number {
  return TREND_BUCKETS_IN_MS.find((b) => spanInMs / b <= max) ?? TREND_BUCKETS_IN_MS[TREND_BUCKETS_IN_MS.length - 1]!;
}

export interface TrendLatency {
  count: number;
  p50InMs: number;
  p95InMs: number;
  p99InMs: number;
}

export interface TrendPoint {
  start: string;
  end: string;
  requests: number;
  studentShare: number | null;
  studentQuality: AgreementEstimate | null;
  escalation: AgreementEstimate | null;
  served: ServedAgreementEstimate | null;
  /** Gold-label accuracy of what users received (reference or reviewer feedback). */
  accuracy: Interval | null;
  accuracyPairs: number;
  costUsd: number;
  teacherOnlyUsd: number | null;
  netSavingsUsd: number | null;
  errors: number;
  errorRate: number | null;
  latency: { teacher: TrendLatency | null; student: TrendLatency | null };
}

export interface TaskTrend {
  task: string;
  points: TrendPoint[];
}

export interface TrendReport {
  kind: 'trend';
  window: { since: string; until: string };
  bucketInMs: number;
  tasks: TaskTrend[];
}

export interface TrendOptions extends Omit<OnlineReportOptions, 'since' | 'until' | 'bucketInMs' | 'task'> {
  since: string;
  until: string;
  bucketInMs?: number;
  /** Tasks to chart, each its own series: estimates of different tasks are never pooled. */
  taskNames: readonly string[];
}

/** The pairs of one task in [since, until): the store's list. */
export type PairSlice = (task: string, since: string, until: string) => AsyncIterable<PairRecord>;

const latencyOf = (t: OnlineTaskReport, arm: 'teacher' | 'student'): TrendLatency | null => {
  const l = t.arms[arm]?.latency;
  return l && l.count > 0 ? { count: l.count, p50InMs: l.p50InMs, p95InMs: l.p95InMs, p99InMs: l.p99InMs } : null;
};

function pointOf(start: number, end: number, t: OnlineTaskReport | undefined): TrendPoint {
  const base = { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
  if (!t || t.requests === 0) {
    return { ...base, requests: 0, studentShare: null, studentQuality: null, escalation: null, served: null, accuracy: null, accuracyPairs: 0, costUsd: 0, teacherOnlyUsd: null, netSavingsUsd: null, errors: 0, errorRate: null, latency: { teacher: null, student: null } };
  }
  const errors = (t.arms.teacher?.errors ?? 0) + (t.arms.student?.errors ?? 0);
  const calls = (t.arms.teacher?.calls ?? 0) + (t.arms.student?.calls ?? 0);
  return {
    ...base,
    requests: t.requests,
    studentShare: t.servedBy.student / t.requests,
    studentQuality: t.agreement.studentQuality,
    escalation: t.agreement.escalation,
    served: t.agreement.served,
    accuracy: t.reference?.served ?? null,
    accuracyPairs: t.reference?.servedPairs ?? 0,
    costUsd: t.cost.total.totalUsd,
    teacherOnlyUsd: t.cost.teacherOnlyUsd,
    netSavingsUsd: t.cost.ledger?.netSavingsUsd ?? null,
    errors,
    errorRate: calls > 0 ? errors / calls : null,
    latency: { teacher: latencyOf(t, 'teacher'), student: latencyOf(t, 'student') },
  };
}

export async function buildTrendReport(slice: PairSlice, options: TrendOptions): Promise<TrendReport> {
  const since = Date.parse(options.since);
  const until = Date.parse(options.until);
  if (!(until > since)) throw invalidRequest('until must be after since.', 'until', 'invalid_time');
  const bucketInMs = options.bucketInMs ?? chooseTrendBucket(until - since);
  if (Math.ceil((until - since) / bucketInMs) > 500) throw invalidRequest('bucketInMs is too small for the window (at most 500 buckets).', 'bucketInMs', 'invalid_bucket');
  // Buckets align to multiples of their width (UTC), like the report's own trend.
  const first = Math.floor(since / bucketInMs) * bucketInMs;
  const { taskNames, ...reportOptions } = options;
  const tasks: TaskTrend[] = [];
  for (const task of taskNames) {
    const points: TrendPoint[] = [];
    for (let start = first; start < until; start += bucketInMs) {
      const s = new Date(Math.max(start, since)).toISOString();
      const e = new Date(Math.min(start + bucketInMs, until)).toISOString();
      const report = await buildOnlineReport(slice(task, s, e), { ...reportOptions, task, since: s, until: e });
      points.push(pointOf(start, start + bucketInMs, report.tasks.find((t) => t.task === task)));
    }
    tasks.push({ task, points });
  }
  return { kind: 'trend', window: { since: options.since, until: options.until }, bucketInMs, tasks };
}
