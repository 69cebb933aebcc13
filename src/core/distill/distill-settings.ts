import { z } from 'zod';
import { STUDENT_KINDS, type StudentKind } from './student-kind.js';
import { isLabelTask, TASK_TYPES, type TaskType } from './task-types.js';

// Per-task distillation settings (data): when to re-distill, how to build the dataset, which
// trainer, the quality gate a candidate must pass, and how a promoted student is ramped.

/** What the gate compares a student answer with the teacher's by: the label, the final number, or text overlap. */
export type GateMetric = 'label' | 'exactMatch' | 'chrF' | 'rougeL';
export const GATE_METRIC: Record<TaskType, GateMetric> = {
  nli: 'label',
  classification: 'label',
  math: 'exactMatch',
  qa: 'chrF',
  conversation: 'chrF',
  summarization: 'rougeL',
};

/**
 * Default minimum agreement with the teacher per task type. Label and math answers can match
 * exactly, so their bars are shares of exact agreement. Free text cannot: two answers of the same
 * teacher to one prompt already differ, so the text bars sit near what a teacher sampled twice
 * scores against itself (sentence chrF ≈ 0.4–0.6 for chat, ROUGE-L ≈ 0.3–0.4 for summaries), not
 * at 0.9. Measure your teacher's self-agreement and set `minAgreement` from it for a tighter gate.
 */
export const DEFAULT_MIN_AGREEMENT: Record<TaskType, number> = {
  nli: 0.9,
  classification: 0.9,
  math: 0.7,
  qa: 0.5,
  conversation: 0.4,
  summarization: 0.3,
};

/** Default p95 latency budgets per student hosting: an in-process ONNX classifier vs a remote endpoint generating text. */
export const DEFAULT_LATENCY_BUDGETS_IN_MS = { inProcess: 50, remote: 10_000 } as const;

/**
 * Default p95 budgets per student kind (student-kind.ts), each capped by its hosting's budget. The
 * gate times `generate` end to end on the test split, one call at a time, on whatever machine the
 * worker shares. BENCHMARKS.md's micro-benchmarks (n-gram bag p50 33–145 µs against a 100 µs
 * target; chosen student p50 ≤ 1 ms) are far below what the gate sees: an n-gram student measured
 * 7.6 ms p95 through `generate` at load ~9 (encoder-student-api.test.ts). The budgets leave ~3×
 * over that so a busy worker does not reject a healthy student, and still order the kinds. An
 * encoder runs a transformer per request (the old in-process 50 ms); a remote student generates text.
 */
export const DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS: Record<StudentKind, number> = { ngrams: 25, pair: 25, conv: 40, encoder: 50, remote: 10_000 };

const kindBudgetsSchema = z.object(
  Object.fromEntries(STUDENT_KINDS.map((k) => [k, z.number().positive().optional()])) as Record<StudentKind, z.ZodOptional<z.ZodNumber>>,
).strict(); // a misspelt kind (`ngram`) is an error, not a budget silently never applied

export const gateSchema = z.object({
  /**
   * The task type the gate scores (dataset jobs set it from the spec's task_type). Tasks with a
   * label set are gated on label agreement whatever this says; otherwise unset means conversation.
   */
  taskType: z.enum(TASK_TYPES).optional(),
  /** Candidate agreement with the teacher on the test split must reach this; default per task type (DEFAULT_MIN_AGREEMENT). */
  minAgreement: z.number().min(0).max(1).optional(),
  /**
   * Free-text gates without `minAgreement`: set the bar to `factor` × the teacher's agreement with
   * its own second answer on the first `samples` test prompts (teacher-self-agreement.ts).
   */
  calibrateFromTeacher: z
    .object({ samples: z.number().int().min(2).max(100).default(8), factor: z.number().gt(0).max(1).default(0.9) })
    .optional(),
  /** When set, accuracy against gold references must reach this (and the test split must have references). */
  minAccuracy: z.number().min(0).max(1).optional(),
  /** Non-inferiority margin δ against the current student: candidate ≥ current − δ. */
  nonInferiorityMargin: z.number().min(0).max(1).default(0.02),
  /** One-sided significance level of the non-inferiority test. */
  alpha: z.number().gt(0).lt(0.5).default(0.05),
  /**
   * Candidate p95 latency budget on the test split by student kind (`ngrams`, `pair`, `conv`,
   * `encoder`: the in-process candidate kinds; `remote`), e.g. `{ "ngrams": 1, "encoder": 30 }`.
   * A kind left out falls back to `maxP95LatencyInMs`, then to DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS
   * (ngrams 25, pair 25, conv 40, encoder 50, remote 10000) capped by `latencyBudgetsInMs` of its hosting.
   */
  maxP95LatencyInMsByKind: kindBudgetsSchema.optional(),
  /** Candidate p95 latency budget for every kind not in `maxP95LatencyInMsByKind`. */
  maxP95LatencyInMs: z.number().positive().optional(),
  /** p95 budgets by student hosting: the cap of the per-kind defaults, and the budget when the kind is unknown. */
  latencyBudgetsInMs: z
    .object({ inProcess: z.number().positive().default(DEFAULT_LATENCY_BUDGETS_IN_MS.inProcess), remote: z.number().positive().default(DEFAULT_LATENCY_BUDGETS_IN_MS.remote) })
    .default({ ...DEFAULT_LATENCY_BUDGETS_IN_MS }),
  /** Below this many test examples the gate refuses to promote (not enough evidence). */
  minTestExamples: z.number().int().min(1).default(50),
});

export interface ResolvedGate {
  taskType: TaskType;
  metric: GateMetric;
  minAgreement: number;
  minAccuracy?: number;
  maxP95LatencyInMs: number;
  hosting: 'in-process' | 'remote';
  /** The candidate's kind, when its lineage names it. */
  studentKind?: StudentKind;
  /** Where `maxP95LatencyInMs` came from, for the gate's reasons and the job report. */
  latencyBudgetFrom: LatencyBudgetSource;
  nonInferiorityMargin: number;
  alpha: number;
  minTestExamples: number;
}

export type LatencyBudgetSource = 'maxP95LatencyInMsByKind' | 'maxP95LatencyInMs' | 'kind-default' | 'hosting';

export interface GateContext {
  labelled: boolean;
  hosting: 'in-process' | 'remote';
  studentKind?: StudentKind;
}

/**
 * The p95 budget of a candidate: the configured budget of its kind, else `maxP95LatencyInMs`,
 * else its kind's default capped by its hosting's budget, else (kind unknown) its hosting's budget.
 */
export function latencyBudgetOf(gate: Pick<GateSettings, 'maxP95LatencyInMsByKind' | 'maxP95LatencyInMs' | 'latencyBudgetsInMs'>, context: Omit<GateContext, 'labelled'>) {
  const kind = context.studentKind;
  const configured = kind !== undefined ? gate.maxP95LatencyInMsByKind?.[kind] : undefined;
  if (configured !== undefined) return { maxP95LatencyInMs: configured, from: 'maxP95LatencyInMsByKind' as const };
  if (gate.maxP95LatencyInMs !== undefined) return { maxP95LatencyInMs: gate.maxP95LatencyInMs, from: 'maxP95LatencyInMs' as const };
  const budgets = gate.latencyBudgetsInMs ?? DEFAULT_LATENCY_BUDGETS_IN_MS;
  const hosting = context.hosting === 'in-process' ? budgets.inProcess : budgets.remote;
  if (kind === undefined) return { maxP95LatencyInMs: hosting, from: 'hosting' as const };
  return { maxP95LatencyInMs: Math.min(DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS[kind], hosting), from: 'kind-default' as const };
}

/** How a gate reason names the budget and where it came from: `(conv student budget) [maxP95LatencyInMsByKind.conv]`. */
export function describeLatencyBudget(gate: Pick<ResolvedGate, 'hosting' | 'studentKind' | 'latencyBudgetFrom'>): string {
  const from = {
    maxP95LatencyInMsByKind: `maxP95LatencyInMsByKind.${gate.studentKind}`,
    maxP95LatencyInMs: 'maxP95LatencyInMs',
    'kind-default': `default for ${gate.studentKind}, capped by latencyBudgetsInMs`,
    hosting: `latencyBudgetsInMs, kind unknown`,
  }[gate.latencyBudgetFrom];
  return `(${gate.studentKind ?? gate.hosting} student budget) [${from}]`;
}

/**
 * The concrete gate for one candidate: the configured thresholds, else the defaults of its task
 * type and of its kind and hosting. `labelled` tasks (a label parser exists) always gate on labels.
 */
export function resolveGate(gate: GateSettings, context: GateContext): ResolvedGate {
  const taskType: TaskType = context.labelled ? (gate.taskType && isLabelTask(gate.taskType) ? gate.taskType : 'classification') : (gate.taskType ?? 'conversation');
  const budget = latencyBudgetOf(gate, context);
  return {
    taskType,
    metric: GATE_METRIC[taskType],
    minAgreement: gate.minAgreement ?? DEFAULT_MIN_AGREEMENT[taskType],
    ...(gate.minAccuracy !== undefined ? { minAccuracy: gate.minAccuracy } : {}),
    maxP95LatencyInMs: budget.maxP95LatencyInMs,
    hosting: context.hosting,
    ...(context.studentKind !== undefined ? { studentKind: context.studentKind } : {}),
    latencyBudgetFrom: budget.from,
    nonInferiorityMargin: gate.nonInferiorityMargin,
    alpha: gate.alpha,
    minTestExamples: gate.minTestExamples,
  };
}

export const canarySchema = z.object({
  enabled: z.boolean().default(false),
  /** Student shares of traffic, in order; each step holds until `minRequests` have been seen. */
  steps: z.array(z.number().gt(0).max(1)).min(1).default([0.1, 0.5, 1]),
  minRequests: z.number().int().min(1).default(200),
  /** Online agreement (shadow pairs) below this rolls back to the previous version. */
  minAgreement: z.number().min(0).max(1).default(0.85),
});

export const distillSettingsSchema = z.object({
  enabled: z.boolean().default(true),
  /** Start a job when this many new usable pairs arrived since the last successful job. */
  threshold: z.object({ newPairs: z.number().int().min(1) }).nullable().default({ newPairs: 1000 }),
  /** NCRONTAB (6 fields, with seconds) checked by the timer; null disables. */
  schedule: z.string().nullable().default(null),
  /** Start a job when rolling student–teacher agreement over `window` pairs falls below `minAgreement`. */
  drift: z
    .object({ window: z.number().int().min(10).default(200), minAgreement: z.number().min(0).max(1).default(0.85) })
    .nullable()
    .default(null),
  trainer: z.enum(['local-onnx', 'azure-openai', 'azure-ml']).default('local-onnx'),
  dataset: z
    .object({
      /** Newest pairs considered per job. */
      maxPairs: z.number().int().min(10).default(100_000),
      minExamples: z.number().int().min(10).default(100),
      maxAnswerChars: z.number().int().min(1).default(8_000),
      validationShare: z.number().min(0).max(0.5).default(0.1),
      testShare: z.number().min(0).max(0.5).default(0.1),
      /** Only pairs from this dataset (dataset distillation jobs). */
      datasetId: z.string().optional(),
      /** Train on answers the teacher cut at max_tokens (`finish_reason: "length"`); dropped by default. */
      acceptTruncated: z.boolean().default(false),
    })
    .default({ maxPairs: 100_000, minExamples: 100, maxAnswerChars: 8_000, validationShare: 0.1, testShare: 0.1, acceptTruncated: false }),
  gate: gateSchema.default(gateSchema.parse({})),
  canary: canarySchema.default(canarySchema.parse({})),
  /** Hyperparameters for remote fine-tuning (Azure OpenAI); local students use classification.student. */
  fineTuning: z
    .object({
      baseModel: z.string().default('gpt-4o-mini-2024-07-18'),
      /** Configured model (an Azure OpenAI resource) that runs the fine-tuning and serves the result. */
      modelRef: z.string().optional(),
      /** How often the fine-tuning job's status and events are read. */
      pollIntervalInMs: z.number().int().min(1).default(30_000),
      n_epochs: z.number().int().min(1).max(50).default(3),
      batch_size: z.number().int().min(1).max(256).optional(),
      learning_rate_multiplier: z.number().positive().max(10).optional(),
      suffix: z.string().max(18).optional(),
      /** Azure ML: the registered model's name (default `<task>-distilled`). */
      registeredModel: z.string().optional(),
      /** Azure ML: the workspace that fine-tunes and serves (trainer `azure-ml`). */
      azureMl: z
        .object({
          /** ARM id: /subscriptions/…/resourceGroups/…/providers/Microsoft.MachineLearningServices/workspaces/… */
          workspace: z.string().min(1),
          /** An existing serverless endpoint to serve from instead of deploying one per job. */
          endpointName: z.string().optional(),
          apiVersion: z.string().default('2024-10-01-preview'),
        })
        .optional(),
    })
    .default({ baseModel: 'gpt-4o-mini-2024-07-18', n_epochs: 3, pollIntervalInMs: 30_000 }),
});

export type DistillSettings = z.infer<typeof distillSettingsSchema>;
export type GateSettings = z.infer<typeof gateSchema>;
