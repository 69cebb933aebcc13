import type { JobStore, ModelRegistry, ModelVersion } from '../ports.js';
import { cascadeOnlineStatus, type CascadeMonitor, type CascadeOnlineStatus } from '../routing/online-cascade-threshold.js';
import type { TaskConfig } from '../tasks/task-schema.js';
import type { CascadeEvaluation } from './cascade-evaluation.js';

// The cascade of a task's student versions, for the report API and the console's models view: per
// version its τ from the job (the point the gateway used when it went live), the risk–coverage
// curve its job measured on the test split (cascade-evaluation.ts, kept in the job record the
// version's lineage names) with the chosen point, and for the serving version the online τ
// re-estimated from its shadow sample and the shadow rows it rests on.

export interface CascadeVersionReport {
  id: string;
  version: number;
  state: ModelVersion['state'];
  createdAt: string;
  promotedAt?: string;
  /** The version's own τ for the task's policy (null: ∞, the teacher answers every request). */
  threshold: number | null;
  thresholdSource: string;
  /** The job's cascade evaluation on the test split: the curve and the chosen point. */
  curve?: { jobId: string; split: 'test'; n: number; ece: number; points: CascadeEvaluation['curve']; chosen: CascadeEvaluation['chosen']; teacherAccuracy?: number };
  /** The serving version only: the online τ and the shadow rows it rests on. */
  online?: CascadeOnlineStatus;
}

export interface CascadeReport {
  task: string;
  policy: { type: string; threshold?: number; target?: object; onlineThreshold?: object };
  versions: CascadeVersionReport[];
}

const MAX_VERSIONS = 20;

function isCascadeEvaluation(x: unknown): x is CascadeEvaluation {
  const e = x as CascadeEvaluation | undefined;
  return !!e && Array.isArray(e.curve) && typeof e.chosen === 'object' && e.chosen !== null && typeof e.chosen.threshold === 'number';
}

/** The version's τ as the gateway derives it offline: its job's chosen point, else its calibration metric, else the policy's. */
function offlineThreshold(task: TaskConfig, version: ModelVersion, evaluation: CascadeEvaluation | undefined): { threshold: number; source: string } {
  const policy = task.routing.policy;
  if (evaluation) return { threshold: evaluation.chosen.threshold, source: evaluation.chosen.source };
  const metric = version.metrics?.cascadeThreshold;
  if (policy.type === 'cascade' && policy.target && typeof metric === 'number') return { threshold: metric, source: "the version's calibrated τ (validation split)" };
  if (policy.type === 'cascade' && policy.threshold !== undefined) return { threshold: policy.threshold, source: "the policy's threshold" };
  return { threshold: Number.POSITIVE_INFINITY, source: 'no τ for this version' };
}

async function versionReport(deps: CascadeReportDeps, task: TaskConfig, v: ModelVersion): Promise<CascadeVersionReport> {
  const job = v.lineage.jobId ? await deps.jobs.get(v.lineage.jobId, { task: task.name }).catch(() => undefined) : undefined;
  const evaluation = isCascadeEvaluation(job?.steps.cascade) ? job.steps.cascade : undefined;
  const tau = offlineThreshold(task, v, evaluation);
  const serving = v.state === 'promoted' && task.routing.policy.type === 'cascade' && deps.monitor;
  return {
    id: v.id,
    version: v.version,
    state: v.state,
    createdAt: v.createdAt,
    ...(v.promotedAt ? { promotedAt: v.promotedAt } : {}),
    threshold: Number.isFinite(tau.threshold) ? tau.threshold : null,
    thresholdSource: tau.source,
    ...(evaluation && job
      ? { curve: { jobId: job.id, split: 'test' as const, n: evaluation.n, ece: evaluation.ece, points: evaluation.curve, chosen: evaluation.chosen, ...(evaluation.teacherAccuracy !== undefined ? { teacherAccuracy: evaluation.teacherAccuracy } : {}) } }
      : {}),
    ...(serving ? { online: await cascadeOnlineStatus(serving, task, v.id, tau.threshold) } : {}),
  };
}

export interface CascadeReportDeps {
  registry: ModelRegistry;
  jobs: JobStore;
  /** The serving side's sample and online τ (absent: no online part). */
  monitor?: CascadeMonitor;
}

export async function buildCascadeReport(deps: CascadeReportDeps, task: TaskConfig): Promise<CascadeReport> {
  const policy = task.routing.policy;
  const versions: CascadeVersionReport[] = [];
  for await (const v of deps.registry.list(task.name)) {
    versions.push(await versionReport(deps, task, v));
    if (versions.length >= MAX_VERSIONS) break;
  }
  return {
    task: task.name,
    policy: {
      type: policy.type,
      ...(policy.type === 'cascade' && policy.threshold !== undefined ? { threshold: policy.threshold } : {}),
      ...(policy.type === 'cascade' && policy.target ? { target: policy.target } : {}),
      ...(policy.type === 'cascade' && policy.onlineThreshold ? { onlineThreshold: policy.onlineThreshold } : {}),
    },
    versions,
  };
}
