import { notFound } from '../errors.js';
import type { PairQuery, PairRecord } from '../pairs/pair-record.js';
import type { ArtifactStore, JobRecord, OperationOptions } from '../ports.js';
import type { TrainOn } from '../tasks/train-on-schema.js';

export { trainOnSchema, type TrainOn } from '../tasks/train-on-schema.js';

// Tenant isolation of distillation data, in one place: whose jobs a key sees, which artifact paths
// a key may name in a spec, which tenants' pairs a re-distillation may train on, and who may
// download the dataset it built. The operator tenant '*' means "every tenant", never a tenant
// named '*'. Jobs without a tenant (older records, system triggers) belong to the operator.

export const OPERATOR_TENANT = '*';
export const isOperator = (tenant: string | undefined) => tenant === OPERATOR_TENANT;

/** The tenant a job runs for: the one that created it, else the operator (system triggers). */
export const jobTenantOf = (job: Pick<JobRecord, 'tenant'>) => job.tenant ?? OPERATOR_TENANT;

/** Another tenant's job is answered with 404 like a missing one, never 403 (which confirms it exists). */
export const canSeeJob = (viewer: string, job: Pick<JobRecord, 'tenant'>) => isOperator(viewer) || jobTenantOf(job) === viewer;

// --- artifact paths ---------------------------------------------------------------------------

// A tenant name becomes a path segment: one that could reach into another namespace gets none.
const safeSegment = (tenant: string) => tenant.length > 0 && tenant !== '.' && tenant !== '..' && !/[/\\?#\u0000-\u001f\u007f]/u.test(tenant);

/** The artifact prefix a tenant may name in specs (`tenants/<tenant>/`); undefined for the operator (everything). */
export function tenantNamespace(tenant: string): string | undefined {
  return isOperator(tenant) ? undefined : `tenants/${tenant}/`;
}

/** Whether `tenant` may read the artifact at `path` through a spec. */
export function mayReadArtifact(tenant: string, path: string): boolean {
  if (isOperator(tenant)) return true;
  if (!safeSegment(tenant)) return false;
  const prefix = tenantNamespace(tenant)!;
  return path.startsWith(prefix) && path.length > prefix.length && !path.split('/').includes('..');
}

/** Where a spec's inline rows are stored: inside the submitter's namespace, so its jobs can read them back. */
export function uploadPrefixOf(tenant: string): string {
  if (isOperator(tenant)) return 'distillations/uploads/';
  return safeSegment(tenant) ? `${tenantNamespace(tenant)}distillations/uploads/` : 'distillations/uploads/';
}

/** The one answer for a path that is missing and for one outside the caller's namespace. */
export const artifactNotFound = (param: string, path: string) =>
  notFound(`${param}: no artifact '${path}' is readable with this API key.`, 'dataset_not_found', param);

/** Reads a spec's `{ path }` for a tenant: its own namespace only (the operator: anywhere). */
export async function readTenantArtifact(artifacts: Pick<ArtifactStore, 'get'>, tenant: string, path: string, param: string, options: OperationOptions = {}): Promise<Uint8Array> {
  // Outside the namespace the store is not asked at all, so nothing about the file can leak.
  if (!mayReadArtifact(tenant, path)) throw artifactNotFound(param, path);
  const bytes = await artifacts.get(path, options);
  if (!bytes) throw artifactNotFound(param, path);
  return bytes;
}

// --- which pairs train a shared task (the task's `trainOn`, tasks/train-on-schema.ts) ---------

/** The tenants whose pairs a job may train on; undefined means every tenant. */
export function trainingTenants(job: Pick<JobRecord, 'tenant' | 'kind'>, trainOn: TrainOn | undefined): readonly string[] | undefined {
  // A dataset job trains on its own stage-1 answers, which carry the job's tenant.
  if (job.kind === 'dataset' || trainOn === 'own') return [jobTenantOf(job)];
  if (trainOn === undefined) return undefined;
  if (Array.isArray(trainOn)) return trainOn;
  return trainOn.tenants === 'all' ? undefined : trainOn.tenants;
}

/**
 * The pair filter of one dataset build: narrows the store query to the tenants `trainOn` allows
 * and notes the tenants whose pairs got through (counted before any newest-pairs cut, so never
 * fewer than the dataset holds). The build stores them in the manifest (`manifestTenants`) and
 * the step summary records only whether they are all the job's own (`datasetTenantSummary`).
 */
export class DatasetTenantScope {
  readonly allowed: readonly string[] | undefined;
  readonly #seen = new Set<string>();

  constructor(private readonly job: Pick<JobRecord, 'tenant' | 'kind'>, trainOn: TrainOn | undefined) {
    this.allowed = trainingTenants(job, trainOn);
  }

  /** The store query, with the tenant in it when only one is allowed (an indexed read). */
  query(base: PairQuery): PairQuery {
    return this.allowed?.length === 1 ? { ...base, tenant: this.allowed[0]! } : base;
  }

  async *filter(pairs: AsyncIterable<PairRecord>): AsyncIterable<PairRecord> {
    const allowed = this.allowed ? new Set(this.allowed) : undefined;
    for await (const p of pairs) {
      if (allowed && !allowed.has(p.tenant)) continue;
      this.#seen.add(p.tenant);
      yield p;
    }
  }

  /** The manifest as stored: with the tenants whose pairs it holds. */
  manifestWithTenants<M extends object>(manifest: M): M & { tenants: string[] } {
    return { ...manifest, tenants: [...this.#seen].sort() };
  }
}

/**
 * What the job's step summary says about tenants: how many (never their names, which a tenant
 * seeing its own job must not learn) and whether all are the job's own. A manifest without
 * tenants (built before they were recorded) counts as mixed: operator-only.
 */
export function datasetTenantSummary(job: Pick<JobRecord, 'tenant'>, manifest: object): { tenants: number | null; ownTenantOnly: boolean } {
  const tenants = (manifest as { tenants?: unknown }).tenants;
  if (!Array.isArray(tenants)) return { tenants: null, ownTenantOnly: false };
  return { tenants: tenants.length, ownTenantOnly: tenants.every((t) => t === jobTenantOf(job)) };
}

/**
 * Who may download a job's dataset files: the operator always; the job's tenant only when the
 * dataset holds its own pairs and nobody else's (recorded by the build as `ownTenantOnly`).
 */
export function canDownloadDataset(viewer: string, job: Pick<JobRecord, 'tenant' | 'steps'>): boolean {
  if (isOperator(viewer)) return true;
  const dataset = job.steps.dataset as { ownTenantOnly?: unknown } | undefined;
  return canSeeJob(viewer, job) && dataset?.ownTenantOnly === true;
}
