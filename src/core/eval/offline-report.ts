import type { Usage } from '../chat/chat-model-types.js';
import { invalidRequest } from '../errors.js';
import { bleuFromStatistics, bleuStatistics } from './bleu.js';
import { chrfFromStatistics, chrfStatistics } from './chrf.js';
import { classificationMetrics, type ClassificationMetrics } from './classification-metrics.js';
import { summarizeColdStart, summarizeLatencies, summarizeMemory, throughput, sequentialThroughput, type LatencySummary, type MemorySummary, type Throughput, PERCENTILE_DEFINITION } from './latency-summary.js';
import type { PairwiseJudgement, JudgementSummary } from './pairwise-judge.js';
import { summarizeJudgements } from './pairwise-judge.js';
import { estimateTokens, findModelPrice, priceCall, summarizeCost, type CostSummary, type Pricing } from './pricing.js';
import { rougeL, rougeTokenize } from './rouge.js';
import {
  bootstrapInterval,
  DEFAULT_MIN_SAMPLES,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  mcnemarFromPairs,
  nonInferiorityTest,
  type McNemarResult,
  type NonInferiorityResult,
  type Verdict,
} from './statistics.js';
import { jsonValidity, lengthRatio, normalizedMatch, tokenF1 } from './text-metrics.js';

// The offline comparison: a candidate student against the teacher and a baseline (the promoted
// student or the un-distilled base) on the same examples. Every metric comes with a seeded paired
// bootstrap interval, every difference with a verdict that refuses to conclude on too little data,
// and latency, memory, throughput and cost sit beside quality so the report answers "is it good
// enough, and what does it save".

export interface OfflineExample {
  id: string;
  input: string;
  /** Gold answer or label. Without it, the teacher's output is the reference (agreement). */
  reference?: string;
  category?: string;
}

export interface OfflineOutput {
  exampleId: string;
  text: string;
  /** Parsed label for classification tasks (defaults to the trimmed text). */
  label?: string;
  latencyInMs?: number;
  usage?: Usage;
  memoryInMb?: number;
  costUsd?: number;
  error?: string;
}

export interface OfflineArm {
  name: string;
  modelId: string;
  hosting: 'remote' | 'in-process';
  outputs: readonly OfflineOutput[];
  /** Wall-clock span of the whole run, for throughput under the run's concurrency. */
  elapsedInMs?: number;
  /** Set when the first call's latency includes loading the model. */
  latenciesIncludeColdStart?: boolean;
  /** Resident memory samples of an in-process student. */
  memorySamplesInMb?: readonly number[];
}

export type ArmRole = 'candidate' | 'teacher' | 'baseline';

export interface OfflineReportInput {
  task: string;
  kind: 'classification' | 'generation';
  examples: readonly OfflineExample[];
  candidate: OfflineArm;
  teacher: OfflineArm;
  baseline?: OfflineArm;
  pricing: Pricing;
  /** Pairwise judge verdicts of candidate vs teacher, by example id. */
  judgements?: ReadonlyMap<string, PairwiseJudgement>;
  options?: {
    seed?: number;
    resamples?: number;
    confidence?: number;
    /** δ of "candidate ≥ teacher − δ", in the primary metric's units (fraction 0..1). */
    nonInferiorityMargin?: number;
    minSamples?: number;
    generatedAt?: string;
    title?: string;
    notes?: string[];
    /** Answers are meant to be JSON: adds the share of answers that parse (code fences allowed). */
    structuredOutput?: { requiredKeys?: string[] };
  };
}

export interface ArmMetricValue {
  value: number;
  lower: number;
  upper: number;
}

export interface MetricDifference {
  against: ArmRole;
  estimate: number;
  lower: number;
  upper: number;
  verdict: Verdict;
  /** Relative change of the candidate over the other arm, in percent. */
  relativePercent: number | null;
}

export interface MetricRow {
  name: string;
  description: string;
  scale: 'fraction' | 'score100' | 'ratio';
  arms: Partial<Record<ArmRole, ArmMetricValue>>;
  differences: MetricDifference[];
}

export interface OfflineArmReport {
  role: ArmRole;
  name: string;
  modelId: string;
  hosting: 'remote' | 'in-process';
  outputs: number;
  errors: number;
  latency: LatencySummary | null;
  throughput: Throughput | null;
  coldStart: ReturnType<typeof summarizeColdStart> | null;
  memory: MemorySummary | null;
  cost: (CostSummary & { estimatedTokens: boolean }) | null;
  classification?: ClassificationMetrics;
}

export interface OfflineReport {
  kind: 'offline';
  title: string;
  task: string;
  taskKind: 'classification' | 'generation';
  generatedAt: string;
  examples: number;
  referenceSource: 'gold' | 'teacher';
  confidence: number;
  resamples: number;
  seed: number;
  minSamples: number;
  percentileDefinition: string;
  primaryMetric: string;
  arms: OfflineArmReport[];
  metrics: MetricRow[];
  mcnemar: { against: ArmRole; result: McNemarResult }[];
  nonInferiority: (NonInferiorityResult & { basis: string }) | { verdict: 'insufficient_data'; basis: string; reason: string };
  judge: JudgementSummary | null;
  headline: {
    qualityRetainedPercent: number | null;
    latencyP50ReductionPercent: number | null;
    costReductionPercent: number | null;
    throughputGain: number | null;
    memoryReductionPercent: number | null;
    improvementOverBaseline: { metric: string; absolute: number; relativePercent: number | null; verdict: Verdict } | null;
  };
  notes: string[];
}

// Per-example statistics rows and how to aggregate a resample of them into one metric value.
interface MetricSpec {
  name: string;
  description: string;
  scale: MetricRow['scale'];
  rows: (arm: ArmRole) => number[][] | undefined;
  aggregate: (rows: number[][], idx: Uint32Array) => number;
}

const meanOf = (rows: number[][], idx: Uint32Array) => {
  let s = 0;
  for (let i = 0; i < idx.length; i++) s += rows[idx[i]!]![0]!;
  return idx.length > 0 ? s / idx.length : Number.NaN;
};

function sumRows(rows: number[][], idx: Uint32Array): number[] {
  const width = rows[0]?.length ?? 0;
  const sum = new Array<number>(width).fill(0);
  for (let i = 0; i < idx.length; i++) {
    const r = rows[idx[i]!]!;
    for (let k = 0; k < width; k++) sum[k]! += r[k]!;
  }
  return sum;
}

function pct(a: number, b: number): number | null {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (100 * (a - b)) / Math.abs(b) : null;
}

/** The examples every arm is scored on, and what each is scored against. */
interface Scoring {
  input: OfflineReportInput;
  byArm: Map<ArmRole, Map<string, OfflineOutput>>;
  arms: [ArmRole, OfflineArm][];
  gold: boolean;
  usable: OfflineExample[];
  scoredRoles: ArmRole[];
  reference(e: OfflineExample): string;
  textOf(role: ArmRole, e: OfflineExample): string | undefined;
  notes: string[];
}

function checkedArms(input: OfflineReportInput): Pick<Scoring, 'arms' | 'byArm'> {
  if (!Array.isArray(input.examples) || input.examples.length === 0) {
    throw invalidRequest('An offline report needs at least one example.', 'examples', 'invalid_report_input');
  }
  const ids = new Set<string>();
  for (const e of input.examples) {
    if (typeof e?.id !== 'string' || ids.has(e.id)) throw invalidRequest(`Example ids must be unique strings (${String(e?.id)}).`, 'examples', 'invalid_report_input');
    ids.add(e.id);
  }
  const arms: [ArmRole, OfflineArm][] = [['candidate', input.candidate], ['teacher', input.teacher]];
  if (input.baseline) arms.push(['baseline', input.baseline]);
  const byArm = new Map<ArmRole, Map<string, OfflineOutput>>();
  for (const [role, arm] of arms) {
    if (!arm || !Array.isArray(arm.outputs)) throw invalidRequest(`The ${role} arm needs outputs.`, role, 'invalid_report_input');
    byArm.set(role, new Map(arm.outputs.map((x) => [x.exampleId, x])));
  }
  return { arms, byArm };
}

function scoringOf(input: OfflineReportInput): Scoring {
  const { arms, byArm } = checkedArms(input);
  const gold = input.examples.every((e) => typeof e.reference === 'string');
  const notes = [...(input.options?.notes ?? [])];
  // Paired comparison: only examples every arm can be scored on. Without gold, that needs a
  // usable teacher answer.
  const teacherOut = byArm.get('teacher')!;
  const usable = input.examples.filter((e) => {
    if (gold) return true;
    const t = teacherOut.get(e.id);
    return t !== undefined && !t.error;
  });
  if (usable.length < input.examples.length) notes.push(`${input.examples.length - usable.length} examples without a usable teacher answer were left out.`);
  if (usable.length === 0) throw invalidRequest('No example has a reference to score against.', 'examples', 'invalid_report_input');
  return {
    input,
    byArm,
    arms,
    gold,
    usable,
    notes,
    scoredRoles: arms.map(([r]) => r).filter((r) => gold || r !== 'teacher'),
    reference: (e) => (gold ? e.reference! : teacherOut.get(e.id)!.text),
    textOf: (role, e) => {
      const out = byArm.get(role)!.get(e.id);
      return out && !out.error ? out.text : undefined;
    },
  };
}

/** Per-example statistics of every metric, by arm, and the specs that aggregate them. */
interface ScoredRows {
  specs: MetricSpec[];
  correctness: Map<ArmRole, boolean[]>;
  classification?: Map<ArmRole, ClassificationMetrics>;
}

function classificationRows(sc: Scoring): ScoredRows {
  const rows = new Map<ArmRole, number[][]>();
  const correctness = new Map<ArmRole, boolean[]>();
  const classification = new Map<ArmRole, ClassificationMetrics>();
  for (const role of sc.scoredRoles) {
    const labels = sc.usable.map((e) => {
      const out = sc.byArm.get(role)!.get(e.id);
      return out && !out.error ? (out.label ?? out.text.trim()) : '(error)';
    });
    const gold = sc.usable.map((e) => sc.reference(e).trim());
    const correct = labels.map((l, i) => l === gold[i]);
    correctness.set(role, correct);
    rows.set(role, correct.map((c) => [c ? 1 : 0]));
    classification.set(role, classificationMetrics(labels.map((l, i) => ({ predicted: l, actual: gold[i]! }))));
  }
  const spec: MetricSpec = { name: 'accuracy', description: sc.gold ? 'accuracy against gold labels' : 'agreement with the teacher label', scale: 'fraction', rows: (r) => rows.get(r), aggregate: meanOf };
  return { specs: [spec], correctness, classification };
}

function generationRows(sc: Scoring): ScoredRows {
  const structured = sc.input.options?.structuredOutput;
  const rowsByMetric = new Map<string, Map<ArmRole, number[][]>>();
  const put = (metric: string, role: ArmRole, rows: number[][]) => {
    if (!rowsByMetric.has(metric)) rowsByMetric.set(metric, new Map());
    rowsByMetric.get(metric)!.set(role, rows);
  };
  const correctness = new Map<ArmRole, boolean[]>();
  for (const role of sc.scoredRoles) {
    const m = { bleu: [] as number[][], chrf: [] as number[][], rougeL: [] as number[][], tokenF1: [] as number[][], normalizedMatch: [] as number[][], lengthRatio: [] as number[][], json: [] as number[][] };
    const correct: boolean[] = [];
    for (const e of sc.usable) {
      const ref = sc.reference(e);
      const hyp = sc.textOf(role, e) ?? '';
      m.bleu.push(bleuStatistics(hyp, [ref]));
      m.chrf.push(chrfStatistics(hyp, [ref]));
      m.rougeL.push([rougeL(rougeTokenize(ref), rougeTokenize(hyp)).fmeasure]);
      m.tokenF1.push([tokenF1(hyp, ref)]);
      const match = normalizedMatch(hyp, ref);
      correct.push(match);
      m.normalizedMatch.push([match ? 1 : 0]);
      m.lengthRatio.push([lengthRatio(hyp, ref)]);
      if (structured) m.json.push([jsonValidity(hyp, { allowCodeFence: true, requiredKeys: structured.requiredKeys }).valid ? 1 : 0]);
    }
    correctness.set(role, correct);
    for (const [metric, rows] of Object.entries(m)) if (metric !== 'json' || structured) put(metric, role, rows);
  }
  const r = (m: string) => (role: ArmRole) => rowsByMetric.get(m)?.get(role);
  const specs: MetricSpec[] = [
    { name: 'chrF2', description: 'corpus chrF2 (sacreBLEU)', scale: 'score100', rows: r('chrf'), aggregate: (rows, idx) => chrfFromStatistics(sumRows(rows, idx)) },
    { name: 'BLEU', description: 'corpus BLEU (sacreBLEU, 13a, exp smoothing)', scale: 'score100', rows: r('bleu'), aggregate: (rows, idx) => bleuFromStatistics(sumRows(rows, idx)).score },
    { name: 'ROUGE-L', description: 'mean ROUGE-L F (rouge-score)', scale: 'fraction', rows: r('rougeL'), aggregate: meanOf },
    { name: 'token F1', description: 'mean SQuAD token F1', scale: 'fraction', rows: r('tokenF1'), aggregate: meanOf },
    { name: 'normalized match', description: 'share of answers equal after SQuAD normalization', scale: 'fraction', rows: r('normalizedMatch'), aggregate: meanOf },
    { name: 'length ratio', description: 'mean words(answer) / words(reference)', scale: 'ratio', rows: r('lengthRatio'), aggregate: meanOf },
  ];
  if (structured) specs.push({ name: 'valid JSON', description: 'share of answers that parse as JSON (with the required keys)', scale: 'fraction', rows: r('json'), aggregate: meanOf });
  return { specs, correctness };
}

interface Resampling {
  resamples: number;
  confidence: number;
  seed: number;
  minSamples: number;
}

/** Each metric with a bootstrap interval per arm and paired differences of the candidate against the others. */
function metricRows(specs: readonly MetricSpec[], scoredRoles: readonly ArmRole[], n: number, rs: Resampling): MetricRow[] {
  const boot = { resamples: rs.resamples, confidence: rs.confidence, seed: rs.seed };
  return specs.map((spec) => {
    const row: MetricRow = { name: spec.name, description: spec.description, scale: spec.scale, arms: {}, differences: [] };
    for (const role of scoredRoles) {
      const rows = spec.rows(role)!;
      const ci = bootstrapInterval(n, (idx) => spec.aggregate(rows, idx), boot);
      row.arms[role] = { value: ci.estimate, lower: ci.lower, upper: ci.upper };
    }
    const cand = spec.rows('candidate')!;
    for (const other of scoredRoles.filter((r) => r !== 'candidate')) {
      const rows = spec.rows(other)!;
      const ci = bootstrapInterval(n, (idx) => spec.aggregate(cand, idx) - spec.aggregate(rows, idx), boot);
      const verdict: Verdict = n < rs.minSamples ? 'insufficient_data' : ci.lower > 0 || ci.upper < 0 ? 'significant' : 'not_significant';
      row.differences.push({ against: other, estimate: ci.estimate, lower: ci.lower, upper: ci.upper, verdict, relativePercent: pct(row.arms.candidate!.value, row.arms[other]!.value) });
    }
    return row;
  });
}

/** Per-example values on a 0..1 scale, so that δ is always a fraction (chrF 59.7 → 0.597). */
function perExample(spec: MetricSpec, role: ArmRole, count: number): number[] {
  const rows = spec.rows(role)!;
  const scale = spec.scale === 'score100' ? 100 : 1;
  return Array.from({ length: count }, (_, i) => spec.aggregate(rows, Uint32Array.of(i)) / scale);
}

/** Non-inferiority against the teacher: on the primary metric with gold references, else on judge verdicts. */
function nonInferiorityOf(sc: Scoring, primary: MetricSpec, rs: Resampling & { margin: number }): OfflineReport['nonInferiority'] {
  const n = sc.usable.length;
  const test = { margin: rs.margin, minSamples: rs.minSamples, seed: rs.seed, resamples: rs.resamples };
  if (sc.gold) {
    const teacherValues = perExample(primary, 'teacher', n);
    const diffs = perExample(primary, 'candidate', n).map((x, i) => x - teacherValues[i]!);
    return { basis: `${primary.name} per example, candidate − teacher`, ...nonInferiorityTest(diffs, test) };
  }
  const judgeScores: number[] = [];
  for (const e of sc.usable) {
    const j = sc.input.judgements?.get(e.id);
    if (j && j.verdict !== 'error') judgeScores.push(j.verdict === 'student' ? 1 : j.verdict === 'tie' ? 0.5 : 0);
  }
  if (judgeScores.length > 0) {
    // Judge score 1/½/0 minus ½: a student as good as the teacher averages 0.
    return { basis: 'pairwise judge score (win 1, tie ½, loss 0) − ½', ...nonInferiorityTest(judgeScores.map((s) => s - 0.5), test) };
  }
  return { verdict: 'insufficient_data', basis: 'none', reason: 'no gold references and no judge verdicts: the teacher is the reference, so it cannot be compared with itself' };
}

/** What an arm's outputs cost: their own cost, else priced from usage (estimated from text when missing); null when the model has no price. */
function armCost(sc: Scoring, arm: OfflineArm, outs: readonly OfflineOutput[]): OfflineArmReport['cost'] {
  let total = 0;
  let estimatedTokens = false;
  for (const x of outs) {
    if (typeof x.costUsd === 'number') {
      total += x.costUsd;
      continue;
    }
    if (arm.hosting === 'remote' && !findModelPrice(sc.input.pricing, arm.modelId)) return null;
    let usage = x.usage;
    if (!usage && arm.hosting === 'remote') {
      estimatedTokens = true;
      const ex = sc.input.examples.find((e) => e.id === x.exampleId);
      usage = { promptTokens: estimateTokens(ex?.input ?? ''), completionTokens: estimateTokens(x.text) };
    }
    total += priceCall(sc.input.pricing, { modelId: arm.modelId, hosting: arm.hosting, usage, latencyInMs: x.latencyInMs ?? 0, memoryInMb: x.memoryInMb });
  }
  return { ...summarizeCost(outs.length, total), estimatedTokens };
}

/** Operations of one arm: latency, throughput, cold start, memory, cost. */
function armReport(sc: Scoring, role: ArmRole, arm: OfflineArm, classification: ScoredRows['classification']): OfflineArmReport {
  const outs = sc.usable.map((e) => sc.byArm.get(role)!.get(e.id)).filter((x): x is OfflineOutput => x !== undefined);
  const latencies = outs.map((x) => x.latencyInMs).filter((x): x is number => typeof x === 'number');
  const memorySamples = arm.memorySamplesInMb ?? outs.map((x) => x.memoryInMb).filter((x): x is number => typeof x === 'number');
  return {
    role,
    name: arm.name,
    modelId: arm.modelId,
    hosting: arm.hosting,
    outputs: outs.length,
    errors: sc.usable.length - outs.filter((x) => !x.error).length,
    latency: latencies.length > 0 ? summarizeLatencies(latencies) : null,
    throughput: arm.elapsedInMs ? throughput(outs.length, arm.elapsedInMs) : latencies.length > 0 && latencies.some((l) => l > 0) ? sequentialThroughput(latencies) : null,
    coldStart: arm.latenciesIncludeColdStart ? (summarizeColdStart(latencies) ?? null) : null,
    memory: summarizeMemory(memorySamples) ?? null,
    cost: armCost(sc, arm, outs),
    ...(classification?.get(role) ? { classification: classification.get(role)! } : {}),
  };
}

function headlineOf(gold: boolean, metrics: readonly MetricRow[], armReports: readonly OfflineArmReport[]): OfflineReport['headline'] {
  const cand = armReports.find((a) => a.role === 'candidate')!;
  const teach = armReports.find((a) => a.role === 'teacher')!;
  const primaryRow = metrics[0]!;
  const baseDiff = primaryRow.differences.find((d) => d.against === 'baseline');
  const reduction = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? (100 * (b - a)) / b : null);
  return {
    qualityRetainedPercent: gold && primaryRow.arms.teacher && primaryRow.arms.teacher.value > 0 ? (100 * primaryRow.arms.candidate!.value) / primaryRow.arms.teacher.value : null,
    latencyP50ReductionPercent: reduction(cand.latency?.p50InMs, teach.latency?.p50InMs),
    costReductionPercent: reduction(cand.cost?.perRequestUsd, teach.cost?.perRequestUsd),
    throughputGain: cand.throughput && teach.throughput && teach.throughput.perSecond > 0 ? cand.throughput.perSecond / teach.throughput.perSecond : null,
    memoryReductionPercent: reduction(cand.memory?.peakInMb, teach.memory?.peakInMb),
    improvementOverBaseline: baseDiff ? { metric: metrics[0]!.name, absolute: baseDiff.estimate, relativePercent: baseDiff.relativePercent, verdict: baseDiff.verdict } : null,
  };
}

export function buildOfflineReport(input: OfflineReportInput): OfflineReport {
  const o = input.options ?? {};
  const rs: Resampling & { margin: number } = {
    seed: o.seed ?? DEFAULT_SEED,
    resamples: o.resamples ?? DEFAULT_RESAMPLES,
    confidence: o.confidence ?? 0.95,
    minSamples: o.minSamples ?? DEFAULT_MIN_SAMPLES,
    margin: o.nonInferiorityMargin ?? 0.05,
  };
  const sc = scoringOf(input);
  const scored = input.kind === 'classification' ? classificationRows(sc) : generationRows(sc);
  const n = sc.usable.length;
  const metrics = metricRows(scored.specs, sc.scoredRoles, n, rs);
  const mcnemar = sc.scoredRoles
    .filter((r) => r !== 'candidate')
    .map((against) => ({ against, result: mcnemarFromPairs(scored.correctness.get('candidate')!, scored.correctness.get(against)!) }));
  const armReports = sc.arms.map(([role, arm]) => armReport(sc, role, arm, scored.classification));
  return {
    kind: 'offline',
    title: o.title ?? `${input.task}: ${input.candidate.name} vs ${input.teacher.name}${input.baseline ? ` vs ${input.baseline.name}` : ''}`,
    task: input.task,
    taskKind: input.kind,
    generatedAt: o.generatedAt ?? new Date(0).toISOString(),
    examples: n,
    referenceSource: sc.gold ? 'gold' : 'teacher',
    confidence: rs.confidence,
    resamples: rs.resamples,
    seed: rs.seed,
    minSamples: rs.minSamples,
    percentileDefinition: PERCENTILE_DEFINITION,
    primaryMetric: scored.specs[0]!.name,
    arms: armReports,
    metrics,
    mcnemar,
    nonInferiority: nonInferiorityOf(sc, scored.specs[0]!, rs),
    judge: input.judgements ? summarizeJudgements([...input.judgements.values()], rs.confidence) : null,
    headline: headlineOf(sc.gold, metrics, armReports),
    notes: sc.notes,
  };
}
