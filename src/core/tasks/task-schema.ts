import { z } from 'zod';
import { routingSchema } from '../routing/policy-schema.js';
import { distillSettingsSchema } from '../distill/distill-settings.js';
import { trainOnSchema } from './train-on-schema.js';
import { classificationTaskSchema } from './classification-task.js';

// A task is what a client names in `model`: one routable unit with its teacher, its student, its
// routing policy and its distillation settings. Tasks are data (JSON validated here).

export const redactionSchema = z.object({
  enabled: z.boolean().default(true),
  kinds: z.array(z.enum(['email', 'phone', 'card'])).default(['email', 'phone', 'card']),
  /** Characters redacted and stored per field (default 262144); the rest is dropped and marked, never stored raw. */
  maxFieldChars: z.number().int().min(1024).max(16 * 1024 * 1024).optional(),
  /** Redaction time per pair record (default 250 ms); text left when it runs out is dropped and marked. */
  timeBudgetInMs: z.number().int().positive().max(60_000).optional(),
});

export const studentRefSchema = z.discriminatedUnion('source', [
  /** The task's promoted version in the model registry (ONNX in-process or a remote endpoint). */
  z.object({ source: z.literal('registry') }),
  /** A fixed configured model, e.g. a fine-tuned Phi-4-mini deployment. */
  z.object({ source: z.literal('model'), model: z.string().min(1) }),
]);

export const taskSchema = z.object({
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$/, 'task names are 1-128 of [a-zA-Z0-9._:-]'),
  description: z.string().default(''),
  /** Id of a configured model (see `models` in the configuration). */
  teacher: z.string().min(1),
  student: studentRefSchema.optional(),
  routing: routingSchema.default({ policy: { type: 'pinned', arm: 'teacher' }, fallback: true, timeoutInMs: 60_000 }),
  redaction: redactionSchema.default({ enabled: true, kinds: ['email', 'phone', 'card'] }),
  /** Classification tasks: label set, label format and the in-process student's hyperparameters. */
  classification: classificationTaskSchema.optional(),
  /** When and how the task's student is re-distilled, and the gate it must pass. */
  distill: distillSettingsSchema.default(distillSettingsSchema.parse({})),
  /**
   * Whose pairs re-distill this (shared) task: `own` (the job's tenant), a list of tenants, or
   * `{ tenants: 'all', consent: true }`. Unset: every tenant, and the dataset is operator-only.
   */
  trainOn: trainOnSchema
    .optional()
    .describe(
      "Whose pairs re-distill this task: 'own' (the job's tenant; system triggers run as the operator '*'), a list of tenants, or {\"tenants\": \"all\", \"consent\": true}. Unset: every tenant's pairs, and a dataset mixing tenants is downloadable by operator keys only.",
    ),
});

export type TaskConfig = z.infer<typeof taskSchema>;
export type RedactionConfig = z.infer<typeof redactionSchema>;
