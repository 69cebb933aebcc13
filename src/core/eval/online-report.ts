import type { Arm } from '../chat/chat-model-types.js';
import { DistilleryError, invalidRequest } from '../errors.js';
import { AGREEMENT_DEFINITION, agreementKind, matchesReference, pairAgreement, type AgreementKind, type AgreementTask } from '../pairs/pair-agreement.js';
import { pairProvenance } from '../pairs/pair-provenance.js';
import type { ArmOutput, PairRecord } from '../pairs/pair-record.js';
import { AgreementTally, type AgreementEstimate, type ServedAgreementEstimate } from './agreement-estimates.js';
import { sentenceChrf } from './chrf.js';
import { LatencyHistogram, PERCENTILE_DEFINITION, type LatencySummary } from './latency-summary.js';
import { findModelPrice, priceCall, savingsLedger, summarizeCost, type CostSummary, type Pricing, type SavingsLedger } from './pricing.js';
import { DEFAULT_MIN_SAMPLES, mcnemarExact, meanInterval, wilsonInterval, type Interval, type McNemarResult } from './statistics.js';
import { RunningMoments } from './running-moments.js';
import { TeacherOnlyAccumulator, type TeacherOnlyCost } from './teacher-only-cost.js';

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

const BUCKET_CHOICES_IN_MS = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000, 604_800_000];
const HOUR = 3_600_000;
const MAX_BUCKETS = 48;

interface ArmAccumulator {
  models: Set<string>;
  calls: number;
  served: number;
  errors: number;
  latency: LatencyHistogram;
  costUsd: number;
  unpriced: number;
  promptTokens: number;
  completionTokens: number;
}

interface BucketAccumulator {
  requests: number;
  studentServed: number;
  comparable: number;
  agreements: number;
  chrfSum: number;
  chrfN: number;
  costUsd: number;
}

interface TaskAccumulator {
  task: string;
  requests: number;
  servedBy: Record<Arm, number>;
  firstAt: string | null;
  lastAt: string | null;
  arms: Record<Arm, ArmAccumulator>;
  kind: AgreementKind;
  runtime: AgreementTask | undefined;
  tally: AgreementTally;
  /** Sentence chrF of the student against the teacher, random shadow sample, text tasks. */
  chrf: RunningMoments;
  refPairs: number;
  refTeacherCorrect: number;
  refStudentCorrect: number;
  refB: number;
  refC: number;
  refServed: number;
  refServedCorrect: number;
  servedUsd: number;
  overheadUsd: number;
  teacherOnly: TeacherOnlyAccumulator;
  buckets: Map<number, BucketAccumulator>;
}

const newArm = (): ArmAccumulator => ({ models: new Set(), calls: 0, served: 0, errors: 0, latency: new LatencyHistogram(), costUsd: 0, unpriced: 0, promptTokens: 0, completionTokens: 0 });

function newTask(task: string, runtime: AgreementTask | undefined, pricing: Pricing): TaskAccumulator {
  return {
    task,
    requests: 0,
    servedBy: { teacher: 0, student: 0 },
    firstAt: null,
    lastAt: null,
    arms: { teacher: newArm(), student: newArm() },
    kind: agreementKind(runtime),
    runtime,
    tally: new AgreementTally(),
    chrf: new RunningMoments(),
    refPairs: 0,
    refTeacherCorrect: 0,
    refStudentCorrect: 0,
    refB: 0,
    refC: 0,
    refServed: 0,
    refServedCorrect: 0,
    servedUsd: 0,
    overheadUsd: 0,
    teacherOnly: new TeacherOnlyAccumulator(pricing),
    buckets: new Map(),
  };
}

/** Cost of one arm's call: as logged, else priced now (unknown remote models stay unpriced). */
function armCost(pricing: Pricing, out: ArmOutput): number | undefined {
  if (typeof out.costUsd === 'number' && Number.isFinite(out.costUsd)) return out.costUsd;
  const latencyInMs = Number.isFinite(out.latencyInMs) && out.latencyInMs >= 0 ? out.latencyInMs : undefined;
  try {
    if (findModelPrice(pricing, out.model)) {
      if (!out.usage) return undefined;
      return priceCall(pricing, { modelId: out.model, hosting: 'remote', usage: out.usage, latencyInMs: latencyInMs ?? 0 });
    }
    // No token price: a registry student running in-process, billed by compute time.
    if (latencyInMs === undefined) return undefined;
    return priceCall(pricing, { modelId: out.model, hosting: 'in-process', latencyInMs });
  } catch (err) {
    // A malformed logged record (negative tokens, say) stays unpriced rather than failing the report.
    if (err instanceof DistilleryError) return undefined;
    throw err;
  }
}

function chooseBucket(since: number | undefined, until: number | undefined): number {
  if (since === undefined || until === undefined || until <= since) return HOUR;
  const span = until - since;
  return BUCKET_CHOICES_IN_MS.find((b) => span / b <= MAX_BUCKETS) ?? BUCKET_CHOICES_IN_MS[BUCKET_CHOICES_IN_MS.length - 1]!;
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
    // Records that are not pair-shaped are skipped, not fatal: a report reads whatever the store holds.
    if (typeof pair?.task !== 'string' || typeof pair.createdAt !== 'string' || (pair.servedArm !== 'teacher' && pair.servedArm !== 'student')) continue;
    if (options.task !== undefined && pair.task !== options.task) continue;
    if (options.tenant !== undefined && pair.tenant !== options.tenant) continue;
    const at = Date.parse(pair.createdAt);
    if (Number.isNaN(at)) continue;
    if (since !== undefined && at < since) continue;
    if (until !== undefined && at >= until) continue;
    total++;
    let acc = tasks.get(pair.task);
    if (!acc) tasks.set(pair.task, (acc = newTask(pair.task, options.tasks?.get(pair.task), options.pricing)));
    accumulate(acc, pair, at);
  }

  function accumulate(acc: TaskAccumulator, pair: PairRecord, at: number): void {
    acc.requests++;
    acc.servedBy[pair.servedArm] = (acc.servedBy[pair.servedArm] ?? 0) + 1;
    if (acc.firstAt === null || pair.createdAt < acc.firstAt) acc.firstAt = pair.createdAt;
    if (acc.lastAt === null || pair.createdAt > acc.lastAt) acc.lastAt = pair.createdAt;
    const bucketKey = Math.floor(at / bucketInMs) * bucketInMs;
    let bucket = acc.buckets.get(bucketKey);
    if (!bucket) acc.buckets.set(bucketKey, (bucket = { requests: 0, studentServed: 0, comparable: 0, agreements: 0, chrfSum: 0, chrfN: 0, costUsd: 0 }));
    bucket.requests++;
    if (pair.servedArm === 'student') bucket.studentServed++;

    let teacherCost: number | undefined;
    for (const arm of ['teacher', 'student'] as const) {
      const out = pair[arm];
      if (!out) continue;
      const a = acc.arms[arm];
      a.calls++;
      a.models.add(out.model);
      if (pair.servedArm === arm && out.role !== 'fallback_failed') a.served++;
      if (out.error) a.errors++;
      a.latency.record(out.latencyInMs);
      if (out.usage) {
        a.promptTokens += out.usage.promptTokens;
        a.completionTokens += out.usage.completionTokens;
      }
      const cost = armCost(options.pricing, out);
      if (cost === undefined) {
        a.unpriced++;
        continue;
      }
      a.costUsd += cost;
      bucket.costUsd += cost;
      if (pair.servedArm === arm) acc.servedUsd += cost;
      else acc.overheadUsd += cost;
      if (arm === 'teacher') teacherCost = cost;
    }
    const why = pairProvenance(pair);
    acc.teacherOnly.add(pair, teacherCost, why.randomShadow);
    accumulateAgreement(acc, pair, bucket, why.randomShadow);
  }

  // Without a window the bucket width is only known now: coarsen to at most MAX_BUCKETS.
  if (options.bucketInMs === undefined && (since === undefined || until === undefined)) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const acc of tasks.values()) for (const k of acc.buckets.keys()) {
      lo = Math.min(lo, k);
      hi = Math.max(hi, k);
    }
    const span = hi - lo + bucketInMs;
    const target = BUCKET_CHOICES_IN_MS.find((b) => b >= bucketInMs && span / b <= MAX_BUCKETS) ?? BUCKET_CHOICES_IN_MS[BUCKET_CHOICES_IN_MS.length - 1]!;
    if (Number.isFinite(span) && target > bucketInMs) {
      for (const acc of tasks.values()) acc.buckets = coarsen(acc.buckets, target);
      bucketInMs = target;
    }
  }

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

/** The pair's verdict into the estimates; chrF and gold-label accuracy on the random shadow sample. */
function accumulateAgreement(acc: TaskAccumulator, pair: PairRecord, bucket: BucketAccumulator, randomShadow: boolean): void {
  const task = acc.runtime;
  if (!task && pair.labels) acc.kind = 'label';
  const verdict = pairAgreement(pair, task);
  acc.tally.add(pair, verdict);
  const served = matchesReference(pair, pair.servedArm, task);
  if (served !== undefined && pair[pair.servedArm]?.role !== 'fallback_failed') {
    acc.refServed++;
    if (served) acc.refServedCorrect++;
  }
  if (verdict === 'not_comparable' || !randomShadow) return;
  bucket.comparable++;
  if (verdict === 'agree') bucket.agreements++;
  if (acc.kind === 'text' && typeof pair.teacher?.text === 'string' && typeof pair.student?.text === 'string') {
    const c = sentenceChrf(pair.student.text, [pair.teacher.text]).score;
    acc.chrf.add(c);
    bucket.chrfSum += c;
    bucket.chrfN++;
  }
  const tc = matchesReference(pair, 'teacher', task);
  const sc = matchesReference(pair, 'student', task);
  if (tc === undefined || sc === undefined) return;
  acc.refPairs++;
  if (tc) acc.refTeacherCorrect++;
  if (sc) acc.refStudentCorrect++;
  if (sc && !tc) acc.refB++;
  if (tc && !sc) acc.refC++;
}

function coarsen(buckets: Map<number, BucketAccumulator>, width: number): Map<number, BucketAccumulator> {
  const out = new Map<number, BucketAccumulator>();
  for (const [k, b] of buckets) {
    const key = Math.floor(k / width) * width;
    const t = out.get(key);
    if (!t) out.set(key, { ...b });
    else {
      t.requests += b.requests;
      t.studentServed += b.studentServed;
      t.comparable += b.comparable;
      t.agreements += b.agreements;
      t.chrfSum += b.chrfSum;
      t.chrfN += b.chrfN;
      t.costUsd += b.costUsd;
    }
  }
  return out;
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
  const teacherOnly = acc.teacherOnly.finish(confidence);
  const teacherOnlyUsd = teacherOnly.usd;
  const lo = Math.min(...[acc.arms.teacher, acc.arms.student].filter((a) => a.latency.count > 0).map((a) => a.latency.min));
  const hi = Math.max(...[acc.arms.teacher, acc.arms.student].filter((a) => a.latency.count > 0).map((a) => a.latency.max));
  const bins = options.latencyBins ?? 24;
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
    cost: {
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
    },
    trend: {
      bucketInMs,
      buckets: [...acc.buckets.entries()]
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
        })),
    },
    latencyDistribution: { upperInMs: upper, counts },
  };
}
