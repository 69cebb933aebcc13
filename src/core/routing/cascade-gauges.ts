import type { CascadeMonitor } from './online-cascade-threshold.js';

// The cascade's state per (task, serving version) as numbers for Prometheus (GET /metrics): the
// version's τ and the online τ the router uses, the random-shadow rows they rest on, and the
// adaptive shadow rate. Read from the monitor's in-memory caches only — a scrape never reads a
// store; a version appears once the router has asked about it.

export interface CascadeGauge {
  task: string;
  /** The student version's model id. */
  version: string;
  /** τ of the version (from its job, or the policy's), and the online τ the router uses (∞ = the teacher answers). */
  threshold?: { version: number; online: number; state: 'offline' | 'loosened' | 'tightened' };
  shadowRows?: number;
  shadowAgreements?: number;
  shadowRate?: number;
}

export function cascadeGauges(monitor: CascadeMonitor): CascadeGauge[] {
  const byKey = new Map<string, CascadeGauge>();
  const at = (task: string, version: string) => {
    const key = `${task}\u0000${version}`;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { task, version }));
    return g;
  };
  for (const { task, modelId, decision } of monitor.thresholds.decisions()) {
    at(task, modelId).threshold = { version: decision.offlineThreshold, online: decision.threshold, state: decision.state };
  }
  for (const { task, modelId, decision } of monitor.shadow.decisions()) at(task, modelId).shadowRate = decision.rate;
  for (const s of monitor.sample.samples()) {
    const g = at(s.task, s.modelId);
    g.shadowRows = s.comparable;
    g.shadowAgreements = s.agreements;
  }
  return [...byKey.values()].sort((a, b) => (a.task === b.task ? a.version.localeCompare(b.version) : a.task.localeCompare(b.task)));
}
