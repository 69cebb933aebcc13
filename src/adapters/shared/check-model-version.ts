import { DistilleryError, invalidRequest } from '../../core/errors.js';
import type { ModelVersion } from '../../core/ports.js';

// Checks every ModelRegistry adapter applies before it writes, so SQLite and Cosmos DB refuse
// the same input with the same typed errors.

export const TASK_RE = /^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$/u;

export function checkTask(task: string): void {
  if (typeof task !== 'string' || !TASK_RE.test(task)) throw invalidRequest(`Invalid task name '${String(task)}'.`, 'task');
}

export function checkVersionNumber(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) throw invalidRequest(`Invalid model version '${String(version)}'.`, 'version');
}

export type NewVersion = Omit<ModelVersion, 'id' | 'version' | 'state' | 'createdAt' | 'etag'>;

export function checkNewVersion(v: NewVersion): void {
  if (v === null || typeof v !== 'object') throw invalidRequest('A model version must be an object.');
  checkTask(v.task);
  if (v.kind !== 'onnx' && v.kind !== 'remote') throw invalidRequest("kind must be 'onnx' or 'remote'.", 'kind');
  if (v.kind === 'onnx' && (typeof v.artifactPath !== 'string' || v.artifactPath.length === 0)) {
    throw invalidRequest('An onnx model version needs an artifactPath.', 'artifactPath');
  }
  if (v.kind === 'remote' && (v.endpoint === null || typeof v.endpoint !== 'object' || typeof v.endpoint.model !== 'string' || v.endpoint.model.length === 0)) {
    throw invalidRequest('A remote model version needs endpoint.model.', 'endpoint');
  }
  if (v.lineage === null || typeof v.lineage !== 'object' || Array.isArray(v.lineage)) throw invalidRequest('lineage must be an object.', 'lineage');
  if (v.metrics !== undefined) {
    if (v.metrics === null || typeof v.metrics !== 'object') throw invalidRequest('metrics must be an object of numbers.', 'metrics');
    for (const [k, n] of Object.entries(v.metrics)) {
      if (typeof n !== 'number' || !Number.isFinite(n)) throw invalidRequest(`metrics.${k} must be a finite number.`, 'metrics');
    }
  }
}

export const nothingToRollBack = (task: string) =>
  new DistilleryError(`Task '${task}' has no earlier promoted version to roll back to.`, {
    status: 409,
    type: 'conflict_error',
    code: 'no_previous_version',
    param: 'task',
  });
