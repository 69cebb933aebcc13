import { z } from 'zod';
import { adaptiveShadowSchema } from './adaptive-shadow.js';
import { onlineThresholdSchema } from './online-cascade-settings.js';

// Routing policies are data: validated JSON per task, never code paths.

export const armSchema = z.enum(['teacher', 'student']);

const stickyKeySchema = z
  .union([z.literal('user'), z.object({ metadata: z.string().min(1) })])
  .default('user')
  .describe("What keeps one caller on one arm: the request's `user`, or a metadata key.");

export const pinnedPolicySchema = z.object({
  type: z.literal('pinned'),
  arm: armSchema,
});

export const splitPolicySchema = z.object({
  type: z.literal('split'),
  /** Share of callers served by the student, 0..1. */
  studentWeight: z.number().min(0).max(1),
  stickyKey: stickyKeySchema,
  /** Salt so that two experiments do not put the same users on the same arm. */
  salt: z.string().default(''),
});

export const shadowPolicySchema = z.object({
  type: z.literal('shadow'),
  serve: armSchema.default('teacher'),
  /** Share of requests that also go to the other arm in the background. */
  sampleRate: z.number().min(0).max(1).default(1),
});

const targetConfidence = z.number().min(0.5).max(0.999).default(0.95).describe('One-sided confidence of the bound the target is checked on.');

/** A quality target for a cascade: the job picks each student version's τ to meet it. */
export const cascadeTargetSchema = z.union([
  z.strictObject({
    /** Lower confidence bound of agreement with the teacher among student-served requests. */
    minAgreement: z.number().gt(0).max(1),
    confidence: targetConfidence,
  }),
  z.strictObject({
    /** Upper bound of the share of requests answered differently from teacher-only. */
    maxAccuracyLoss: z.number().min(0).lt(1),
    confidence: targetConfidence,
  }),
]);

export const cascadePolicySchema = z
  .object({
    type: z.literal('cascade'),
    /**
     * The student answers first; below this confidence the teacher is asked instead. With a
     * `target` it is used only for a student version that has no calibrated threshold.
     */
    threshold: z.number().min(0).max(1).optional(),
    /** Quality target: each version's τ is chosen by its job on held-out data and stored with it. */
    target: cascadeTargetSchema.optional(),
    /** Escalate when the student's answer fails the task's validation (e.g. not a known label). */
    escalateOnInvalid: z.boolean().default(true),
    /** Share of student-served requests also sent to the teacher in the background (agreement, drift). */
    shadowSampleRate: z.number().min(0).max(1).default(0),
    /** Shadow rate per promoted version: high after a promotion, decaying while agreement holds (replaces shadowSampleRate). */
    adaptiveShadow: adaptiveShadowSchema.optional(),
    /** With a `target`: τ re-estimated from the random shadow sample, loosened only as far as its bound allows (on unless `enabled: false`). */
    onlineThreshold: onlineThresholdSchema.optional(),
  })
  .refine((p) => p.threshold !== undefined || p.target !== undefined, {
    message: 'A cascade needs a `threshold` or a quality `target`.',
    path: ['threshold'],
  });

export const policySchema = z.discriminatedUnion('type', [
  pinnedPolicySchema,
  splitPolicySchema,
  shadowPolicySchema,
  cascadePolicySchema,
]);

export const routingSchema = z.object({
  policy: policySchema,
  /** On an error or time-out of the chosen arm, answer with the other arm. */
  fallback: z.boolean().default(true),
  /** Budget for one attempt of an arm's call until the response headers. */
  timeoutInMs: z.number().int().positive().default(60_000),
  /** Longest silence of an arm's body or stream for this task; the model's own limit applies when smaller. */
  idleTimeoutInMs: z.number().int().positive().optional(),
  /** Budget of a whole arm call (retries, body, stream) for this task; the model's own applies when smaller. */
  deadlineInMs: z.number().int().positive().optional(),
});

export type RoutingPolicy = z.infer<typeof policySchema>;
export type RoutingConfig = z.infer<typeof routingSchema>;
export type Arm = z.infer<typeof armSchema>;
export type CascadeTargetConfig = z.infer<typeof cascadeTargetSchema>;

/** What a student version stores for a target cascade: its τ and the target it was chosen for. */
export interface StudentCascadeCalibration {
  threshold: number;
  target: { minAgreement?: number; maxAccuracyLoss?: number; confidence?: number };
}
