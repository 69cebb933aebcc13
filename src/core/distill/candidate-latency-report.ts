import { latencyBudgetOf, type GateSettings } from './distill-settings.js';
import { lineageCandidates, studentKindOf, type CandidateLatencyRow, type StudentKind, type VersionLineage } from './student-kind.js';

export type { CandidateLatencyRow } from './student-kind.js';

// The job report's view of the student kinds a job tried: each candidate's serving latency (p50,
// p99 of featurize + forward, or the encoder's own, as the trainer measured them on validation
// texts), its ONNX size, and the p95 budget the gate would hold its kind to. The gate itself times
// only the kept candidate, end to end, on the test split (steps.evaluation.candidate.latency).

export interface CandidateLatencyReport {
  /** The kept candidate's kind: the one the gate's budget was chosen by. */
  studentKind?: StudentKind;
  candidates: CandidateLatencyRow[];
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const KNOWN: ReadonlySet<string> = new Set<StudentKind>(['ngrams', 'pair', 'conv', 'encoder', 'remote']);

export function candidateLatencyReport(version: VersionLineage, settings: GateSettings): CandidateLatencyReport {
  const studentKind = studentKindOf(version);
  const hosting = version.kind === 'remote' ? ('remote' as const) : ('in-process' as const);
  const candidates = lineageCandidates(version).map((c): CandidateLatencyRow => ({
    kind: c.kind,
    chosen: c.chosen,
    ...(finite(c.validationAccuracy) ? { validationAccuracy: c.validationAccuracy } : {}),
    ...(finite(c.p50InMs) ? { p50InMs: c.p50InMs } : {}),
    ...(finite(c.p99InMs) ? { p99InMs: c.p99InMs } : {}),
    ...(finite(c.sizeInBytes) ? { sizeInBytes: c.sizeInBytes } : {}),
    ...(KNOWN.has(c.kind) ? { maxP95LatencyInMs: latencyBudgetOf(settings, { hosting, studentKind: c.kind as StudentKind }).maxP95LatencyInMs } : {}),
    ...(c.skipped !== undefined ? { skipped: c.skipped } : {}),
    ...(c.reason !== undefined ? { reason: c.reason } : {}),
  }));
  return { ...(studentKind !== undefined ? { studentKind } : {}), candidates };
}
