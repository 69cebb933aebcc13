// What kind of student a version is, for the gate's latency budget and the job report: the
// in-process candidate kinds the local trainer searches (adapters/onnx/train-candidates.ts: the
// n-gram bag, pair-aware, convolutional, a head on a sentence encoder) or a remote endpoint. The
// kind is read from the version's lineage (the chosen candidate), never guessed from the model.

/** The fields of a ModelVersion (ports.ts) the kind is read from; structural, so settings need not import the ports. */
export interface VersionLineage {
  kind: 'onnx' | 'remote';
  lineage: { hyperparameters?: Record<string, unknown> };
}

export const STUDENT_KINDS = ['ngrams', 'pair', 'conv', 'encoder', 'remote'] as const;
export type StudentKind = (typeof STUDENT_KINDS)[number];

const IN_PROCESS_KINDS: ReadonlySet<string> = new Set(STUDENT_KINDS.filter((k) => k !== 'remote'));

/** One candidate the trainer tried, as its lineage records it (CandidateRecord of train-candidates.ts). */
export interface LineageCandidate {
  kind: string;
  chosen: boolean;
  validationAccuracy?: number;
  sizeInBytes?: number;
  p50InMs?: number;
  p99InMs?: number;
  skipped?: string;
  reason?: string;
}

/** The candidates recorded in a version's lineage (`hyperparameters.candidates`), the malformed ones left out. */
export function lineageCandidates(version: Pick<VersionLineage, 'lineage'>): LineageCandidate[] {
  const list = version.lineage.hyperparameters?.['candidates'];
  if (!Array.isArray(list)) return [];
  return list.filter((c): c is LineageCandidate => typeof c === 'object' && c !== null && typeof c.kind === 'string' && typeof c.chosen === 'boolean');
}

/**
 * The version's student kind: `remote` for an endpoint; for ONNX, the chosen candidate's kind,
 * else the `featurizer` hyperparameter (versions trained before the candidate search), else
 * undefined (the gate then falls back to the hosting's budget).
 */
export function studentKindOf(version: VersionLineage): StudentKind | undefined {
  if (version.kind === 'remote') return 'remote';
  const chosen = lineageCandidates(version).find((c) => c.chosen)?.kind;
  if (chosen !== undefined) return IN_PROCESS_KINDS.has(chosen) ? (chosen as StudentKind) : undefined;
  const hp = version.lineage.hyperparameters;
  const encoder = hp?.['encoder'];
  if (typeof encoder === 'object' && encoder !== null && (encoder as { pinned?: unknown }).pinned === true) return 'encoder';
  const featurizer = hp?.['featurizer'];
  return typeof featurizer === 'string' && IN_PROCESS_KINDS.has(featurizer) ? (featurizer as StudentKind) : undefined;
}

/** One row of the job report's candidate table (candidate-latency-report.ts). */
export interface CandidateLatencyRow {
  kind: string;
  chosen: boolean;
  validationAccuracy?: number;
  p50InMs?: number;
  p99InMs?: number;
  sizeInBytes?: number;
  /** The gate's p95 budget for this kind under the task's settings (absent for a kind it does not know). */
  maxP95LatencyInMs?: number;
  skipped?: string;
  reason?: string;
}
