import type { LatencySummary } from '../eval/latency-summary.js';
import type { CandidateLatencyRow } from './student-kind.js';

// What each step of a distillation job leaves on its record (`JobRecord.steps`), typed. This file
// imports nothing that imports the ports, so ports.ts can name these shapes without a cycle.

/** Stage 1 of a dataset job while its chunks run elsewhere (the job is re-entered by a message). */
export interface Stage1Pending {
  pending: true;
  chunks: number;
  chunksDone: number;
  examples: number;
}

/** Stage 1 over all chunks: counts, success ratio, failures by cause, tokens, cost, latency. */
export interface Stage1Summary {
  pending?: false;
  chunks: number;
  examples: number;
  train: number;
  validation: number;
  duplicatesDropped: number;
  ok: number;
  failed: number;
  reused: number;
  successRatio: number;
  minSuccessRatio: number;
  calls: number;
  retries: number;
  throttled: number;
  errors: Record<string, number>;
  usage: { promptTokens: number; completionTokens: number };
  costUsd: number;
  latency: LatencySummary;
  chunkDurationsInMs: number[];
}

export interface DatasetStepSummary {
  path: string;
  version: string;
  contentHash: string;
  kept: number;
  train: number;
  validation: number;
  test: number;
  dropped: Record<string, number>;
  labels?: number;
}

export interface TrainingStepSummary {
  version: number;
  modelId: string;
  metrics: Record<string, number>;
}

export interface ArmSummary {
  model: string;
  n: number;
  errors: number;
  agreement: number;
  agreementInterval?: unknown;
  accuracy?: { value: number; n: number; interval: unknown };
  latency: LatencySummary;
}

export interface EvaluationSummary {
  testExamples: number;
  /** The resolved gate (thresholds by task type and hosting); `minAgreementFrom` says where the bar came from. */
  gate?: object;
  candidate: ArmSummary;
  current?: ArmSummary;
  nonInferiority?: unknown;
  mcnemar?: unknown;
  /** Every student kind the trainer tried: p50/p99, size and its kind's p95 budget (candidate-latency-report.ts). */
  candidates?: CandidateLatencyRow[];
}

export interface GateStepDecision {
  promote: boolean;
  reasons: string[];
}

/** The teacher's self-agreement behind a calibrated gate bar (see teacher-self-agreement.ts). */
export interface TeacherSelfAgreementSummary {
  metric: string;
  selfAgreement: number;
  n: number;
  factor: number;
  minAgreement: number;
  failed: number;
}

/** Every step output a job can carry; each step writes only its own key. */
export interface JobSteps {
  /** The task's pair counter when the job was queued (the threshold trigger counts from it). */
  counterAtStart?: number;
  /** Dataset jobs: the counter after stage 1 wrote its own pairs. */
  counterAfterGeneration?: number;
  generation?: Stage1Pending | Stage1Summary;
  dataset?: DatasetStepSummary;
  training?: TrainingStepSummary;
  evaluation?: EvaluationSummary;
  /** Saved by the evaluation step as soon as it is measured: a redelivered message reuses it instead of paying the teacher again. */
  teacherSelfAgreement?: TeacherSelfAgreementSummary;
  gate?: GateStepDecision;
  /** Calibrated cascade of the candidate on the test split (see cascade-evaluation.ts). */
  cascade?: object;
  /** Dataset jobs: student vs teacher vs baseline (see dataset-job-report.ts). */
  report?: object;
  /** The canary ramp of a promoted student (see canary.ts). */
  canary?: object;
}
