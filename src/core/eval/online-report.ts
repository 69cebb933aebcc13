import type { Arm } from '../chat/chat-model-types.js';
import { invalidRequest } from '../errors.js';
import { AGREEMENT_DEFINITION, type AgreementKind, type AgreementTask } from '../pairs/pair-agreement.js';
import type { PairRecord } from '../pairs/pair-record.js';
import type { AgreementEstimate, ServedAgreementEstimate } from './agreement-estimates.js';
import { PERCENTILE_DEFINITION, type LatencySummary } from './latency-summary.js';
import { accumulate, bucketOf, chooseBucket, coarsenToFit, newTask, type TaskAccumulator } from './online-report-accumulator.js';
import { savingsLedger, summarizeCost, type CostSummary, type Pricing, type SavingsLedger } from './pricing.js';
import { DEFAULT_MIN_SAMPLES, mcnemarExact, meanInterval, wilsonInterval, type Interval, type McNemarResult } from './statistics.js';
import type { TeacherOnlyCost } from './teacher-only-cost.js';

// The online report: what logged traffic says about the student, per task and per arm, over a
// time window. It streams over the pairs once and keeps only counters, running moments and
// log-bucket latency histograms, so 100,000 pairs cost the same memory as 1,000. Agreement is
// pairAgreement (one normalisation per task kind), reported as three labelled estimates
// (agreement-estimates.ts): student quality on the random shadow sample, escalation agreement,
// and served agreement; never as one pool of every pair where both arms happened to run. With
// gold references, each arm's accuracy and McNemar's test on the random shadow sample, and the
// accuracy of what was served on every request that has one.

export interface OnlineReportOptions {
  pricing: Pricing;
  task?: string;
  tenant?: string;
  /** Inclusive ISO lower bound. */
  since?: string;
  /** Exclusive ISO upper bound. */
  until?: string;
  /** Trend bucket width; by default chosen so the window has at most ~48 buckets. */
  bucketInMs?: number;
  confidence?: number;
  minSamples?: number;
  /** Report time (from the injected clock). */
  now?: number;
  /** Chart bins for the latency distribution. */
  latencyBins?: number;
  /** Costs outside the logged calls, by task, netted off the savings: judge runs and training. */
  fixedCostsUsd?: Record<string, { judgeCostUsd?: number; trainingCostUsd?: number }>;
  /** Task runtimes, so each task's pairs are judged by its kind (labels, math, text); without, pairs with labels are label pairs. */
  tasks?: { get(name: string): AgreementTask | undefined };
}

export interface OnlineArmReport {
  arm: Arm;
  models: string[];
  /** Calls made to this arm (served, shadow, cascade). */
  calls: number;
  /** Requests this arm answered to the client. */
  served: number;
  errors: number;
  errorRate: number;
  latency: LatencySummary;
  cost: CostSummary;
  unpricedCalls: number;
  tokens: { prompt: number; completion: number };
}

export interface TrendBucket {
  start: string;
  requests: number;
  studentServedShare: number;
  comparable: number;
  agreements: number;
  agreementRate: number | null;
  chrfMean: number | null;
  costUsd: number;
}

export interface OnlineTaskReport {
  task: string;
  requests: number;
  servedBy: Record<Arm, number>;
  firstAt: string | null;
  lastAt: string | null;
  arms: Partial<Record<Arm, OnlineArmReport>>;
  agreement: {
    /** The normalisation pairs were judged by (pair-agreement.ts). */
    kind: AgreementKind;
    definition: string;
    /** Student quality: agreement on the random shadow sample (unbiased for the student's traffic). */
    studentQuality: AgreementEstimate;
    /** Agreement on escalated pairs: the student's hardest prompts. Not the student's quality. */
    escalation: AgreementEstimate;
    /** What users received vs what the teacher would have said (importance-weighted shadow sample). */
    served: ServedAgreementEstimate;
    /** Every comparable pair whatever why both arms ran: moves with the routing policy; diagnostic only. */
    pooled: { n: number; agreements: number; rate: number | null };
    /** Text tasks: mean sentence chrF of the student against the teacher on the random shadow sample. */
    text: { pairs: number; chrf: Interval | null } | null;
  };
  reference: {
    /** Random-shadow pairs with a gold reference: both arms' accuracy and McNemar's test on them. */
    pairs: number;
    teacherAccuracy: Interval;
    studentAccuracy: Interval;
    mcnemar: McNemarResult;
    /** Accuracy of the answer users received, over every request with a reference. */
    served: Interval | null;
    servedPairs: number;
  } | null;
  cost: {
    servedUsd: number;
    /** Calls that did not answer the client: shadow calls, escalated cascade attempts. */
    overheadUsd: number;
    total: CostSummary;
    /** Every request answered by the teacher: observed teacher calls plus an unbiased estimate for the rest (teacher-only-cost.ts). */
    teacherOnlyUsd: number | null;
    teacherOnlyEstimated: boolean;
    teacherOnly: TeacherOnlyCost;
    ledger: SavingsLedger | null;
  };
  trend: { bucketInMs: number; buckets: TrendBucket[] };
  latencyDistribution: { upperInMs: number[]; counts: Partial<Record<Arm, number[]>> };
}

export interface OnlineReport {
  kind: 'online';
  generatedAt: string;
  window: { since: string | null; until: string | null };
  filters: { task: string | null; tenant: string | null };
  confidence: number;
  minSamples: number;
  percentileDefinition: string;
  totals: { pairs: number; tasks: number };
  tasks: OnlineTaskReport[];
}

function parseTime(value: string | undefined, param: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw invalidRequest(`${param} must be an ISO-8601 time.`, param, 'invalid_time');
  return t;
}

/**
 * Streams `pairs` once and builds the report. Pairs outside the window, of another task or
 * tenant, are skipped (the store usually filters already; this keeps the report correct when it
 * does not).
 */
export async function buildOnlineReport(pairs: AsyncIterable<PairRecord> | Iterable<PairRecord>, options: OnlineReportOptions): Promise<OnlineReport> {
  const since = parseTime(options.since, 'since');
  const until = parseTime(options.until, 'until');
  if (since !== undefined && until !== undefined && until < since) throw invalidRequest('until must not be before since.', 'until', 'invalid_time');
  const confidence = options.confidence ?? 0.95;
  const minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;
  let bucketInMs = options.bucketInMs ?? chooseBucket(since, until);
  if (!(bucketInMs > 0)) throw invalidRequest('bucketInMs must be positive.', 'bucketInMs', 'invalid_report_input');
  const tasks = new Map<string, TaskAccumulator>();
  let total = 0;

  for await (const pair of pairs as AsyncIterable<PairRecord>) {
    const at = timeInReport(pair, options, since, until);
    if (at === undefined) continue;
    total++;
    let acc = tasks.get(pair.task);
    if (!acc) tasks.set(pair.task, (acc = newTask(pair.task, options.tasks?.get(pair.task), options.pricing)));
    accumulate(acc, pair, bucketOf(acc, at, bucketInMs), options.pricing);
  }

  // Without a window the bucket width is only known now: coarsen to at most MAX_BUCKETS.
  if (options.bucketInMs === undefined && (since === undefined || until === undefined)) bucketInMs = coarsenToFit(tasks, bucketInMs);

  const taskReports = [...tasks.values()]
    .sort((a, b) => a.task.localeCompare(b.task))
    .map((acc) => finish(acc, bucketInMs, options, confidence, minSamples));
  return {
    kind: 'online',
    generatedAt: new Date(options.now ?? 0).toISOString(),
    window: { since: options.since ?? null, until: options.until ?? null },
    filters: { task: options.task ?? null, tenant: options.tenant ?? null },
    confidence,
    minSamples,
    percentileDefinition: `${PERCENTILE_DEFINITION}, from log-spaced histograms (±1%)`,
    totals: { pairs: total, tasks: taskReports.length },
    tasks: taskReports,
  };
}

/** The pair's time when the report counts it; undefined when it is skipped. */
function timeInReport(pair: PairRecord, options: OnlineReportOptions, since: number | undefined, until: number | undefined): number | undefined {
  // Records that are not pair-shaped are skipped, not fatal: a report reads whatever the store holds.
  if (typeof pair?.task !== 'string' || typeof pair.createdAt !== 'string' || (pair.servedArm !== 'teacher' && pair.servedArm !== 'student')) return undefined;
  if (options.task !== undefined && pair.task !== options.task) return undefined;
  if (options.tenant !== undefined && pair.tenant !== options.tenant) return undefined;
  const at = Date.parse(pair.createdAt);
  if (Number.isNaN(at)) return undefined;
  if (since !== undefined && at < since) return undefined;
  if (until !== undefined && at >= until) return undefined;
  return at;
}


/** Gold-label accuracy: both arms and McNemar on the random shadow sample; what was served on every request. */
function referenceSection(acc: TaskAccumulator, confidence: number): OnlineTaskReport['reference'] {
  const shadowRef =
    acc.refPairs > 0
      ? {
          pairs: acc.refPairs,
          teacherAccuracy: wilsonInterval(acc.refTeacherCorrect, acc.refPairs, confidence),
          studentAccuracy: wilsonInterval(acc.refStudentCorrect, acc.refPairs, confidence),
          mcnemar: mcnemarExact(acc.refB, acc.refC),
        }
      : null;
  return shadowRef || acc.refServed > 0
      ? {
          ...(shadowRef ?? { pairs: 0, teacherAccuracy: wilsonInterval(0, 0, confidence), studentAccuracy: wilsonInterval(0, 0, confidence), mcnemar: mcnemarExact(0, 0) }),
          served: acc.refServed > 0 ? wilsonInterval(acc.refServedCorrect, acc.refServed, confidence) : null,
          servedPairs: acc.refServed,
        }
      : null;
}

function finish(acc: TaskAccumulator, bucketInMs: number, options: OnlineReportOptions, confidence: number, minSamples: number): OnlineTaskReport {
  const arms = armReports(acc);
  const teacherOnly = acc.teacherOnly.finish(confidence);
  const latencyDistribution = latencyHistograms(acc, options.latencyBins ?? 24);
  const estimates = acc.tally.estimates(confidence, minSamples);
  const reference = referenceSection(acc, confidence);
  return {
    task: acc.task,
    requests: acc.requests,
    servedBy: acc.servedBy,
    firstAt: acc.firstAt,
    lastAt: acc.lastAt,
    arms,
    agreement: {
      kind: acc.kind,
      definition: AGREEMENT_DEFINITION[acc.kind],
      ...estimates,
      text: acc.kind === 'text' ? { pairs: acc.chrf.n, chrf: acc.chrf.n > 0 ? meanInterval(acc.chrf.n, acc.chrf.mean, acc.chrf.variance(), confidence) : null } : null,
    },
    reference,
    cost: costSection(acc, teacherOnly, options),
    trend: { bucketInMs, buckets: trendBuckets(acc) },
    latencyDistribution,
  };
}

function armReports(acc: TaskAccumulator): Partial<Record<Arm, OnlineArmReport>> {
  const arms: Partial<Record<Arm, OnlineArmReport>> = {};
  for (const arm of ['teacher', 'student'] as const) {
    const a = acc.arms[arm];
    if (a.calls === 0) continue;
    arms[arm] = {
      arm,
      models: [...a.models].slice(0, 10),
      calls: a.calls,
      served: a.served,
      errors: a.errors,
      errorRate: a.errors / a.calls,
      latency: a.latency.summary(),
      cost: summarizeCost(a.calls - a.unpriced, a.costUsd),
      unpricedCalls: a.unpriced,
      tokens: { prompt: a.promptTokens, completion: a.completionTokens },
    };
  }
  return arms;
}

/** Both arms' latency histograms over one shared range, so the dashboard can overlay them. */
function latencyHistograms(acc: TaskAccumulator, bins: number): OnlineTaskReport['latencyDistribution'] {
  const lo = Math.min(...[acc.arms.teacher, acc.arms.student].filter((a) => a.latency.count > 0).map((a) => a.latency.min));
  const hi = Math.max(...[acc.arms.teacher, acc.arms.student].filter((a) => a.latency.count > 0).map((a) => a.latency.max));
  const range = Number.isFinite(lo) && Number.isFinite(hi) ? { minInMs: lo, maxInMs: hi } : undefined;
  const counts: Partial<Record<Arm, number[]>> = {};
  let upper: number[] = [];
  if (range) {
    for (const arm of ['teacher', 'student'] as const) {
      if (acc.arms[arm].latency.count === 0) continue;
      const d = acc.arms[arm].latency.distribution(bins, range);
      upper = d.map((b) => b.upperInMs);
      counts[arm] = d.map((b) => b.count);
    }
  }
  return { upperInMs: upper, counts };
}

function costSection(acc: TaskAccumulator, teacherOnly: OnlineTaskReport['cost']['teacherOnly'], options: OnlineReportOptions): OnlineTaskReport['cost'] {
  const teacherOnlyUsd = teacherOnly.usd;
  return {
    servedUsd: acc.servedUsd,
    overheadUsd: acc.overheadUsd,
    total: summarizeCost(acc.requests, acc.servedUsd + acc.overheadUsd),
    teacherOnlyUsd,
    teacherOnlyEstimated: teacherOnly.estimatedRequests > 0,
    teacherOnly,
    ledger:
      teacherOnlyUsd === null
        ? null
        : savingsLedger({
            requests: acc.requests,
            teacherOnlyCostUsd: teacherOnlyUsd,
            servedCostUsd: acc.servedUsd,
            shadowCostUsd: acc.overheadUsd,
            judgeCostUsd: options.fixedCostsUsd?.[acc.task]?.judgeCostUsd ?? 0,
            trainingCostUsd: options.fixedCostsUsd?.[acc.task]?.trainingCostUsd ?? 0,
          }),
  };
}

function trendBuckets(acc: TaskAccumulator): TrendBucket[] {
  return [...acc.buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, b]) => ({
      start: new Date(k).toISOString(),
      requests: b.requests,
      studentServedShare: b.requests > 0 ? b.studentServed / b.requests : 0,
      comparable: b.comparable,
      agreements: b.agreements,
      agreementRate: b.comparable > 0 ? b.agreements / b.comparable : null,
      chrfMean: b.chrfN > 0 ? b.chrfSum / b.chrfN : null,
      costUsd: b.costUsd,
    }));
}
