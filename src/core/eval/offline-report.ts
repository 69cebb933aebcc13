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

export function buildOfflineReport(input: OfflineReportInput): OfflineReport {
  const o = input.options ?? {};
  const seed = o.seed ?? DEFAULT_SEED;
  const resamples = o.resamples ?? DEFAULT_RESAMPLES;
  const confidence = o.confidence ?? 0.95;
  const minSamples = o.minSamples ?? DEFAULT_MIN_SAMPLES;
  const margin = o.nonInferiorityMargin ?? 0.05;
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

  const gold = input.examples.every((e) => typeof e.reference === 'string');
  const referenceSource: OfflineReport['referenceSource'] = gold ? 'gold' : 'teacher';
  const notes = [...(o.notes ?? [])];
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
  const reference = (e: OfflineExample) => (gold ? e.reference! : teacherOut.get(e.id)!.text);
  const scoredRoles: ArmRole[] = arms.map(([r]) => r).filter((r) => gold || r !== 'teacher');
  const textOf = (role: ArmRole, e: OfflineExample) => {
    const out = byArm.get(role)!.get(e.id);
    return out && !out.error ? out.text : undefined;
  };

  // ---- per-example rows
  const specs: MetricSpec[] = [];
  const rowsByMetric = new Map<string, Map<ArmRole, number[][]>>();
  const put = (metric: string, role: ArmRole, rows: number[][]) => {
    if (!rowsByMetric.has(metric)) rowsByMetric.set(metric, new Map());
    rowsByMetric.get(metric)!.set(role, rows);
  };
  let classification: Map<ArmRole, ClassificationMetrics> | undefined;
  const correctness = new Map<ArmRole, boolean[]>();

  if (input.kind === 'classification') {
    classification = new Map();
    for (const role of scoredRoles) {
      const labels = usable.map((e) => {
        const out = byArm.get(role)!.get(e.id);
        return out && !out.error ? (out.label ?? out.text.trim()) : '(error)';
      });
      const gold = usable.map((e) => reference(e).trim());
      const correct = labels.map((l, i) => l === gold[i]);
      correctness.set(role, correct);
      put('accuracy', role, correct.map((c) => [c ? 1 : 0]));
      classification.set(role, classificationMetrics(labels.map((l, i) => ({ predicted: l, actual: gold[i]! }))));
    }
    specs.push({ name: 'accuracy', description: gold ? 'accuracy against gold labels' : 'agreement with the teacher label', scale: 'fraction', rows: (r) => rowsByMetric.get('accuracy')?.get(r), aggregate: meanOf });
  } else {
    for (const role of scoredRoles) {
      const bleu: number[][] = [];
      const chrf: number[][] = [];
      const rl: number[][] = [];
      const f1: number[][] = [];
      const nm: number[][] = [];
      const lr: number[][] = [];
      const js: number[][] = [];
      const correct: boolean[] = [];
      for (const e of usable) {
        const ref = reference(e);
        const hyp = textOf(role, e) ?? '';
        bleu.push(bleuStatistics(hyp, [ref]));
        chrf.push(chrfStatistics(hyp, [ref]));
        rl.push([rougeL(rougeTokenize(ref), rougeTokenize(hyp)).fmeasure]);
        f1.push([tokenF1(hyp, ref)]);
        const match = normalizedMatch(hyp, ref);
        correct.push(match);
        nm.push([match ? 1 : 0]);
        lr.push([lengthRatio(hyp, ref)]);
        if (o.structuredOutput) js.push([jsonValidity(hyp, { allowCodeFence: true, requiredKeys: o.structuredOutput.requiredKeys }).valid ? 1 : 0]);
      }
      correctness.set(role, correct);
      put('bleu', role, bleu);
      put('chrf', role, chrf);
      put('rougeL', role, rl);
      put('tokenF1', role, f1);
      put('normalizedMatch', role, nm);
      put('lengthRatio', role, lr);
      if (o.structuredOutput) put('json', role, js);
    }
    const r = (m: string) => (role: ArmRole) => rowsByMetric.get(m)?.get(role);
    specs.push(
      { name: 'chrF2', description: 'corpus chrF2 (sacreBLEU)', scale: 'score100', rows: r('chrf'), aggregate: (rows, idx) => chrfFromStatistics(sumRows(rows, idx)) },
      { name: 'BLEU', description: 'corpus BLEU (sacreBLEU, 13a, exp smoothing)', scale: 'score100', rows: r('bleu'), aggregate: (rows, idx) => bleuFromStatistics(sumRows(rows, idx)).score },
      { name: 'ROUGE-L', description: 'mean ROUGE-L F (rouge-score)', scale: 'fraction', rows: r('rougeL'), aggregate: meanOf },
      { name: 'token F1', description: 'mean SQuAD token F1', scale: 'fraction', rows: r('tokenF1'), aggregate: meanOf },
      { name: 'normalized match', description: 'share of answers equal after SQuAD normalization', scale: 'fraction', rows: r('normalizedMatch'), aggregate: meanOf },
      { name: 'length ratio', description: 'mean words(answer) / words(reference)', scale: 'ratio', rows: r('lengthRatio'), aggregate: meanOf },
    );
    if (o.structuredOutput) {
      specs.push({ name: 'valid JSON', description: 'share of answers that parse as JSON (with the required keys)', scale: 'fraction', rows: r('json'), aggregate: meanOf });
    }
  }

  // ---- metrics with intervals and paired differences
  const n = usable.length;
  const boot = { resamples, confidence, seed };
  const metrics: MetricRow[] = specs.map((spec) => {
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
      const verdict: Verdict = n < minSamples ? 'insufficient_data' : ci.lower > 0 || ci.upper < 0 ? 'significant' : 'not_significant';
      row.differences.push({ against: other, estimate: ci.estimate, lower: ci.lower, upper: ci.upper, verdict, relativePercent: pct(row.arms.candidate!.value, row.arms[other]!.value) });
    }
    return row;
  });

  const mcnemar = scoredRoles
    .filter((r) => r !== 'candidate')
    .map((against) => ({ against, result: mcnemarFromPairs(correctness.get('candidate')!, correctness.get(against)!) }));

  // ---- non-inferiority against the teacher
  const primary = specs[0]!.name;
  let nonInferiority: OfflineReport['nonInferiority'];
  const judgeScores: number[] = [];
  if (input.judgements) {
    for (const e of usable) {
      const j = input.judgements.get(e.id);
      if (j && j.verdict !== 'error') judgeScores.push(j.verdict === 'student' ? 1 : j.verdict === 'tie' ? 0.5 : 0);
    }
  }
  if (gold) {
    const teacherValues = perExample(specs[0]!, 'teacher', n);
    const diffs = perExample(specs[0]!, 'candidate', n).map((x, i) => x - teacherValues[i]!);
    nonInferiority = { basis: `${primary} per example, candidate − teacher`, ...nonInferiorityTest(diffs, { margin, minSamples, seed, resamples }) };
  } else if (judgeScores.length > 0) {
    // Judge score 1/½/0 minus ½: a student as good as the teacher averages 0.
    nonInferiority = { basis: 'pairwise judge score (win 1, tie ½, loss 0) − ½', ...nonInferiorityTest(judgeScores.map((s) => s - 0.5), { margin, minSamples, seed, resamples }) };
  } else {
    nonInferiority = { verdict: 'insufficient_data', basis: 'none', reason: 'no gold references and no judge verdicts: the teacher is the reference, so it cannot be compared with itself' };
  }

  // ---- operations: latency, throughput, memory, cost
  const armReports: OfflineArmReport[] = arms.map(([role, arm]) => {
    const outs = usable.map((e) => byArm.get(role)!.get(e.id)).filter((x): x is OfflineOutput => x !== undefined);
    const latencies = outs.map((x) => x.latencyInMs).filter((x): x is number => typeof x === 'number');
    const errors = usable.length - outs.filter((x) => !x.error).length;
    let total = 0;
    let estimatedTokens = false;
    let priced = true;
    for (const x of outs) {
      if (typeof x.costUsd === 'number') {
        total += x.costUsd;
        continue;
      }
      if (arm.hosting === 'remote' && !findModelPrice(input.pricing, arm.modelId)) {
        priced = false;
        break;
      }
      let usage = x.usage;
      if (!usage && arm.hosting === 'remote') {
        estimatedTokens = true;
        const ex = input.examples.find((e) => e.id === x.exampleId);
        usage = { promptTokens: estimateTokens(ex?.input ?? ''), completionTokens: estimateTokens(x.text) };
      }
      total += priceCall(input.pricing, { modelId: arm.modelId, hosting: arm.hosting, usage, latencyInMs: x.latencyInMs ?? 0, memoryInMb: x.memoryInMb });
    }
    const memorySamples = arm.memorySamplesInMb ?? outs.map((x) => x.memoryInMb).filter((x): x is number => typeof x === 'number');
    return {
      role,
      name: arm.name,
      modelId: arm.modelId,
      hosting: arm.hosting,
      outputs: outs.length,
      errors,
      latency: latencies.length > 0 ? summarizeLatencies(latencies) : null,
      throughput: arm.elapsedInMs ? throughput(outs.length, arm.elapsedInMs) : latencies.length > 0 && latencies.some((l) => l > 0) ? sequentialThroughput(latencies) : null,
      coldStart: arm.latenciesIncludeColdStart ? (summarizeColdStart(latencies) ?? null) : null,
      memory: summarizeMemory(memorySamples) ?? null,
      cost: priced ? { ...summarizeCost(outs.length, total), estimatedTokens } : null,
      ...(classification?.get(role) ? { classification: classification.get(role)! } : {}),
    };
  });

  const arm = (r: ArmRole) => armReports.find((a) => a.role === r);
  const cand = arm('candidate')!;
  const teach = arm('teacher')!;
  const primaryRow = metrics[0]!;
  const baseDiff = primaryRow.differences.find((d) => d.against === 'baseline');
  const reduction = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? (100 * (b - a)) / b : null);
  const report: OfflineReport = {
    kind: 'offline',
    title: o.title ?? `${input.task}: ${input.candidate.name} vs ${input.teacher.name}${input.baseline ? ` vs ${input.baseline.name}` : ''}`,
    task: input.task,
    taskKind: input.kind,
    generatedAt: o.generatedAt ?? new Date(0).toISOString(),
    examples: n,
    referenceSource,
    confidence,
    resamples,
    seed,
    minSamples,
    percentileDefinition: PERCENTILE_DEFINITION,
    primaryMetric: primary,
    arms: armReports,
    metrics,
    mcnemar,
    nonInferiority,
    judge: input.judgements ? summarizeJudgements([...input.judgements.values()], confidence) : null,
    headline: {
      qualityRetainedPercent: gold && primaryRow.arms.teacher && primaryRow.arms.teacher.value > 0 ? (100 * primaryRow.arms.candidate!.value) / primaryRow.arms.teacher.value : null,
      latencyP50ReductionPercent: reduction(cand.latency?.p50InMs, teach.latency?.p50InMs),
      costReductionPercent: reduction(cand.cost?.perRequestUsd, teach.cost?.perRequestUsd),
      throughputGain: cand.throughput && teach.throughput && teach.throughput.perSecond > 0 ? cand.throughput.perSecond / teach.throughput.perSecond : null,
      memoryReductionPercent: reduction(cand.memory?.peakInMb, teach.memory?.peakInMb),
      improvementOverBaseline: baseDiff ? { metric: primary, absolute: baseDiff.estimate, relativePercent: baseDiff.relativePercent, verdict: baseDiff.verdict } : null,
    },
    notes,
  };
  return report;

  /** Per-example values on a 0..1 scale, so that δ is always a fraction (chrF 59.7 → 0.597). */
  function perExample(spec: MetricSpec, role: ArmRole, count: number): number[] {
    const rows = spec.rows(role)!;
    const scale = spec.scale === 'score100' ? 100 : 1;
    return Array.from({ length: count }, (_, i) => spec.aggregate(rows, Uint32Array.of(i)) / scale);
  }
}
