import { z } from 'zod';

// A task's `trainOn`: whose pairs may re-distill a task several tenants share. `own` (pairs of the
// job's tenant only), a list of tenants (`["a", "b"]` or `{ "tenants": ["a", "b"] }`), or every
// tenant with their recorded consent (`{ "tenants": "all", "consent": true }`). Unset: every
// tenant, and the datasets that mix tenants are the operator's only (core/distill/tenant-scope.ts).

const tenantList = z.array(z.string().min(1).max(128)).min(1);

export const trainOnSchema = z.union([
  z.literal('own'),
  tenantList,
  z.object({ tenants: tenantList }).strict(),
  z.object({ tenants: z.literal('all'), consent: z.literal(true, { message: 'training on every tenant\'s pairs needs "consent": true' }) }).strict(),
]);

export type TrainOn = z.infer<typeof trainOnSchema>;
