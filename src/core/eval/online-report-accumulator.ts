import type { Arm } from '../chat/chat-model-types.js';
import { DistilleryError } from '../errors.js';
import { agreementKind, matchesReference, pairAgreement, type AgreementKind, type AgreementTask } from '../pairs/pair-agreement.js';
import { pairProvenance } from '../pairs/pair-provenance.js';
import type { ArmOutput, PairRecord } from '../pairs/pair-record.js';
import { AgreementTally } from './agreement-estimates.js';
import { sentenceChrf } from './chrf.js';
import { LatencyHistogram } from './latency-summary.js';
import { findModelPrice, priceCall, type Pricing } from './pricing.js';
import { RunningMoments } from './running-moments.js';
import { TeacherOnlyAccumulator } from './teacher-only-cost.js';

// The online report's single pass over the pairs (online-report.ts shapes the result): per task,
// counters, running moments, log-bucket latency histograms and time buckets, nothing per pair, so
// memory does not grow with the number of pairs.

const BUCKET_CHOICES_IN_MS = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000, 604_800_000];
const HOUR = 3_600_000;
const MAX_BUCKETS = 48;

export interface ArmAccumulator {
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

export interface BucketAccumulator {
  requests: number;
  studentServed: number;
  comparable: number;
  agreements: number;
  chrfSum: number;
  chrfN: number;
  costUsd: number;
}

export interface TaskAccumulator {
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

export function newTask(task: string, runtime: AgreementTask | undefined, pricing: Pricing): TaskAccumulator {
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

export function chooseBucket(since: number | undefined, until: number | undefined): number {
  if (since === undefined || until === undefined || until <= since) return HOUR;
  const span = until - since;
  return BUCKET_CHOICES_IN_MS.find((b) => span / b <= MAX_BUCKETS) ?? BUCKET_CHOICES_IN_MS[BUCKET_CHOICES_IN_MS.length - 1]!;
}

/** The trend bucket a pair at `at` falls in, created on first use. */
export function bucketOf(acc: TaskAccumulator, at: number, bucketInMs: number): BucketAccumulator {
  const bucketKey = Math.floor(at / bucketInMs) * bucketInMs;
  let bucket = acc.buckets.get(bucketKey);
  if (!bucket) acc.buckets.set(bucketKey, (bucket = { requests: 0, studentServed: 0, comparable: 0, agreements: 0, chrfSum: 0, chrfN: 0, costUsd: 0 }));
  return bucket;
}

export function accumulate(acc: TaskAccumulator, pair: PairRecord, bucket: BucketAccumulator, pricing: Pricing): void {
  acc.requests++;
  acc.servedBy[pair.servedArm] = (acc.servedBy[pair.servedArm] ?? 0) + 1;
  if (acc.firstAt === null || pair.createdAt < acc.firstAt) acc.firstAt = pair.createdAt;
  if (acc.lastAt === null || pair.createdAt > acc.lastAt) acc.lastAt = pair.createdAt;
  bucket.requests++;
  if (pair.servedArm === 'student') bucket.studentServed++;
  const teacherCost = accumulateArms(acc, pair, bucket, pricing);
  const why = pairProvenance(pair);
  acc.teacherOnly.add(pair, teacherCost, why.randomShadow);
  accumulateAgreement(acc, pair, bucket, why.randomShadow);
}

/** Calls, errors, latency, tokens and cost of each arm that answered; returns the teacher's cost when priced. */
function accumulateArms(acc: TaskAccumulator, pair: PairRecord, bucket: BucketAccumulator, pricing: Pricing): number | undefined {
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
    const cost = armCost(pricing, out);
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
  return teacherCost;
}

/** Merges the buckets of every task into the narrowest width that keeps at most MAX_BUCKETS; returns that width. */
export function coarsenToFit(tasks: Map<string, TaskAccumulator>, bucketInMs: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const acc of tasks.values()) for (const k of acc.buckets.keys()) {
    lo = Math.min(lo, k);
    hi = Math.max(hi, k);
  }
  const span = hi - lo + bucketInMs;
  const target = BUCKET_CHOICES_IN_MS.find((b) => b >= bucketInMs && span / b <= MAX_BUCKETS) ?? BUCKET_CHOICES_IN_MS[BUCKET_CHOICES_IN_MS.length - 1]!;
  if (!(Number.isFinite(span) && target > bucketInMs)) return bucketInMs;
  for (const acc of tasks.values()) acc.buckets = coarsen(acc.buckets, target);
  return target;
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
