import { z } from 'zod';

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

export const cascadePolicySchema = z.object({
  type: z.literal('cascade'),
  /** The student answers first; below this confidence the teacher is asked instead. */
  threshold: z.number().min(0).max(1),
  /** Escalate when the student's answer fails the task's validation (e.g. not a known label). */
  escalateOnInvalid: z.boolean().default(true),
  /** Share of student-served requests also sent to the teacher in the background (agreement, drift). */
  shadowSampleRate: z.number().min(0).max(1).default(0),
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
  /** Budget for one arm's call, retries included. */
  timeoutInMs: z.number().int().positive().default(60_000),
});

export type RoutingPolicy = z.infer<typeof policySchema>;
export type RoutingConfig = z.infer<typeof routingSchema>;
export type Arm = z.infer<typeof armSchema>;
