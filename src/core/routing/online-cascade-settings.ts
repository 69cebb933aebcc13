import { z } from 'zod';

// Settings of the online re-estimation of a target cascade's τ (online-cascade-threshold.ts). Apart
// from it so that the policy schema can name them without importing the estimator.

export const onlineThresholdSchema = z.strictObject({
  /** Re-estimate τ from the random shadow sample of the serving version (target cascades only). */
  enabled: z.boolean().default(true).describe("Re-estimate a target cascade's τ from the serving version's random shadow sample."),
  /** Shadow rows the student would serve at a looser τ before its bound may loosen τ. */
  minRows: z.number().int().min(10).default(200).describe('Shadow rows a looser τ would serve before its bound may loosen τ.'),
  /** Shadow rows served at the current τ before a bound that refutes the target tightens it. */
  minRowsToTighten: z.number().int().min(1).default(30).describe("Shadow rows served at the current τ before a bound that refutes the target tightens it."),
});

export type OnlineThresholdSettings = z.infer<typeof onlineThresholdSchema>;
export const DEFAULT_ONLINE_THRESHOLD: OnlineThresholdSettings = onlineThresholdSchema.parse({});
