import { z } from 'zod';

// Per-task distillation settings (data): when to re-distill, how to build the dataset, which
// trainer, the quality gate a candidate must pass, and how a promoted student is ramped.

export const gateSchema = z.object({
  /** Candidate agreement with the teacher on the test split must reach this share. */
  minAgreement: z.number().min(0).max(1).default(0.9),
  /** Non-inferiority margin δ against the current student: candidate ≥ current − δ. */
  nonInferiorityMargin: z.number().min(0).max(1).default(0.02),
  /** One-sided significance level of the non-inferiority test. */
  alpha: z.number().gt(0).lt(0.5).default(0.05),
  /** Candidate p95 latency budget on the test split. */
  maxP95LatencyInMs: z.number().positive().default(50),
  /** Below this many test examples the gate refuses to promote (not enough evidence). */
  minTestExamples: z.number().int().min(1).default(50),
});

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
  trainer: z.enum(['local-onnx', 'azure-openai']).default('local-onnx'),
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
    })
    .default({ maxPairs: 100_000, minExamples: 100, maxAnswerChars: 8_000, validationShare: 0.1, testShare: 0.1 }),
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
    })
    .default({ baseModel: 'gpt-4o-mini-2024-07-18', n_epochs: 3, pollIntervalInMs: 30_000 }),
});

export type DistillSettings = z.infer<typeof distillSettingsSchema>;
export type GateSettings = z.infer<typeof gateSchema>;
