import { DEFAULT_TARGET_CONFIDENCE, describeTarget, type CascadeTarget } from '../eval/risk-coverage.js';
import { wilsonInterval } from '../eval/statistics.js';
import type { ChatModel, Clock } from '../ports.js';
import type { TaskConfig } from '../tasks/task-schema.js';
import type { ShadowRateDecision } from './adaptive-shadow.js';
import { AdaptiveShadowController } from './adaptive-shadow-controller.js';
import { CONFIDENCE_BINS, ShadowSampleReader, type ShadowSample, type ShadowSampleReaderDeps } from './adaptive-shadow-sample.js';
import { cascadeThreshold, type OnlineCascadeThreshold } from './decide-route.js';
import { DEFAULT_ONLINE_THRESHOLD, type OnlineThresholdSettings } from './online-cascade-settings.js';

// Online re-estimation of a target cascade's τ from the random shadow sample of the serving
// student version (adaptive-shadow-sample.ts: the student's confidence and whether it agreed with
// the teacher, on requests drawn at random, so the sample is an unbiased picture of the traffic at
// every τ, unlike escalations). The version brings its τ from the job (chosen on held-out data);
// traffic can differ, so:
//
//   - loosen only to a τ whose one-sided bound on the shadow rows it would serve still meets the
//     target, with at least `minRows` of them (the lowest such τ: the largest student share);
//   - tighten as soon as the bound at the version's τ refutes the target (agreement's upper bound
//     below minAgreement, or the accuracy loss's lower bound above maxAccuracyLoss, over at least
//     `minRowsToTighten` served rows), to the lowest τ the bound allows, or to ∞ (the teacher
//     answers) while none does;
//   - otherwise keep the version's τ.
//
// The bound is checked at every candidate τ and again at every refresh, so its confidence is
// nominal (as for the job's choice); minRows keeps the selection from resting on a handful of rows.

export interface OnlineBoundPoint {
  threshold: number;
  /** Shadow rows the student would serve at this τ, of `rows`. */
  served: number;
  rows: number;
  agreement: number;
  agreementLowerBound: number;
  agreementUpperBound: number;
  /** Share of all shadow rows served by the student and answered differently from the teacher. */
  accuracyLoss: number;
  accuracyLossLowerBound: number;
  accuracyLossUpperBound: number;
}

export interface OnlineThresholdDecision {
  /** The τ the router uses. */
  threshold: number;
  /** The version's own τ for the target (or the policy's raw one, or ∞). */
  offlineThreshold: number;
  state: 'offline' | 'loosened' | 'tightened';
  /** Comparable random-shadow rows the estimate rests on. */
  rows: number;
  target: CascadeTarget;
  /** The sample at the chosen τ and at the version's τ. */
  chosen: OnlineBoundPoint;
  offline: OnlineBoundPoint;
  reason: string;
}

type Bins = Pick<ShadowSample, 'bins' | 'neverServed'>;

const gridThreshold = (k: number) => k / CONFIDENCE_BINS;

function boundPoint(threshold: number, served: number, agreements: number, rows: number, confidence: number): OnlineBoundPoint {
  // One-sided bounds at `confidence` are the two-sided Wilson interval at 2·confidence − 1.
  const level = 2 * confidence - 1;
  const a = wilsonInterval(agreements, served, level);
  const loss = wilsonInterval(served - agreements, rows, level);
  return {
    threshold,
    served,
    rows,
    agreement: served ? agreements / served : Number.NaN,
    agreementLowerBound: a.lower,
    agreementUpperBound: a.upper,
    accuracyLoss: rows ? (served - agreements) / rows : 0,
    accuracyLossLowerBound: loss.lower,
    accuracyLossUpperBound: loss.upper,
  };
}

function totalRows(sample: Bins): number {
  let n = sample.neverServed;
  for (let k = 0; k < CONFIDENCE_BINS; k++) n += sample.bins.rows[k]!;
  return n;
}

/** The sample at τ: the rows of the bins at or above τ's bin (∞ serves nothing). */
export function onlinePointAt(sample: Bins, threshold: number, confidence = DEFAULT_TARGET_CONFIDENCE): OnlineBoundPoint {
  const rows = totalRows(sample);
  const first = threshold <= 0 ? 0 : Math.ceil(threshold * CONFIDENCE_BINS - 1e-9);
  let served = 0;
  let agreements = 0;
  for (let k = Math.max(0, first); k < CONFIDENCE_BINS; k++) {
    served += sample.bins.rows[k]!;
    agreements += sample.bins.agree[k]!;
  }
  return boundPoint(threshold, served, agreements, rows, confidence);
}

const allows = (p: OnlineBoundPoint, target: CascadeTarget, minRows: number): boolean =>
  'minAgreement' in target
    ? p.served >= minRows && p.agreementLowerBound >= target.minAgreement
    : p.rows >= minRows && p.accuracyLossUpperBound <= target.maxAccuracyLoss;

const refutes = (p: OnlineBoundPoint, target: CascadeTarget, minRows: number): boolean =>
  'minAgreement' in target
    ? p.served >= minRows && p.agreementUpperBound < target.minAgreement
    : p.served >= minRows && p.accuracyLossLowerBound > target.maxAccuracyLoss;

/** The lowest τ (a bin holding rows) whose bound meets the target with enough rows; undefined when none does. */
function loosestAllowed(sample: Bins, target: CascadeTarget, minRows: number, confidence: number): OnlineBoundPoint | undefined {
  const rows = totalRows(sample);
  let served = 0;
  let agreements = 0;
  let best: OnlineBoundPoint | undefined;
  for (let k = CONFIDENCE_BINS - 1; k >= 0; k--) {
    const n = sample.bins.rows[k]!;
    if (n === 0) continue;
    served += n;
    agreements += sample.bins.agree[k]!;
    const p = boundPoint(gridThreshold(k), served, agreements, rows, confidence);
    if (allows(p, target, minRows)) best = p;
  }
  return best;
}

const fmt = (t: number) => (Number.isFinite(t) ? t.toFixed(4) : '∞');

function boundText(p: OnlineBoundPoint, target: CascadeTarget): string {
  return 'minAgreement' in target
    ? `agreement ${p.served ? p.agreement.toFixed(3) : '—'} [${p.agreementLowerBound.toFixed(3)}, ${p.agreementUpperBound.toFixed(3)}] over ${p.served} served of ${p.rows} shadow rows`
    : `accuracy loss ${p.accuracyLoss.toFixed(4)} [${p.accuracyLossLowerBound.toFixed(4)}, ${p.accuracyLossUpperBound.toFixed(4)}] over ${p.rows} shadow rows (${p.served} served)`;
}

/** The τ to route by, from the version's τ and the shadow sample (see the top of this file). */
export function estimateOnlineThreshold(input: {
  target: CascadeTarget;
  offlineThreshold: number;
  sample: Bins;
  settings?: OnlineThresholdSettings;
}): OnlineThresholdDecision {
  const { target, offlineThreshold, sample } = input;
  const settings = input.settings ?? DEFAULT_ONLINE_THRESHOLD;
  const confidence = target.confidence ?? DEFAULT_TARGET_CONFIDENCE;
  const offline = onlinePointAt(sample, offlineThreshold, confidence);
  const loose = loosestAllowed(sample, target, settings.minRows, confidence);
  const base = { offlineThreshold, rows: offline.rows, target, offline };
  if (loose && loose.threshold < offlineThreshold) {
    return { ...base, threshold: loose.threshold, state: 'loosened', chosen: loose, reason: `loosened from the version's τ ${fmt(offlineThreshold)} to ${fmt(loose.threshold)}: ${boundText(loose, target)} meets ${describeTarget(target)}` };
  }
  if (refutes(offline, target, settings.minRowsToTighten)) {
    const to = loose ?? onlinePointAt(sample, Number.POSITIVE_INFINITY, confidence);
    const why = loose ? `the lowest τ whose bound meets it: ${boundText(loose, target)}` : 'no τ meets it on the shadow sample yet: the teacher answers';
    return { ...base, threshold: to.threshold, state: 'tightened', chosen: to, reason: `tightened from the version's τ ${fmt(offlineThreshold)} (${boundText(offline, target)} refutes ${describeTarget(target)}) to ${fmt(to.threshold)}, ${why}` };
  }
  const why = loose ? 'no looser τ meets the bound' : `no τ meets the bound with ≥ ${settings.minRows} rows yet`;
  return { ...base, threshold: offlineThreshold, state: 'offline', chosen: offline, reason: `the version's τ ${fmt(offlineThreshold)} kept (${why}; at it: ${boundText(offline, target)})` };
}

/** The online τ settings of a task, or undefined when its policy re-estimates none (no cascade target, or switched off). */
function onlineSettingsOf(task: TaskConfig): { target: CascadeTarget; settings: OnlineThresholdSettings } | undefined {
  const policy = task.routing.policy;
  if (policy.type !== 'cascade' || !policy.target) return undefined;
  const settings = policy.onlineThreshold ?? DEFAULT_ONLINE_THRESHOLD;
  return settings.enabled ? { target: policy.target, settings } : undefined;
}

type CacheEntry = { at: number; decision: OnlineThresholdDecision; refreshing?: Promise<void> };

/** The router's online τ per (task, version), refreshed in the background like the adaptive shadow rate. */
export class OnlineCascadeThresholds {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(private readonly deps: { sample: ShadowSampleReader; clock: Clock; refreshInMs?: number }) {}

  /** Undefined when the task's policy re-estimates no τ; the first call for a version waits for one read. */
  async thresholdFor(task: TaskConfig, student: Pick<ChatModel, 'id' | 'cascadeCalibration'>): Promise<OnlineCascadeThreshold | undefined> {
    const online = onlineSettingsOf(task);
    if (!online || task.routing.policy.type !== 'cascade') return undefined;
    const offline = cascadeThreshold(task.routing.policy, student.cascadeCalibration).threshold;
    const key = `${task.name}\u0000${student.id}`;
    const hit = this.cache.get(key);
    if (!hit || hit.decision.offlineThreshold !== offline) await this.refresh(task, student.id, offline, key);
    else if (this.deps.clock.now() - hit.at >= (this.deps.refreshInMs ?? 10_000) && !hit.refreshing) {
      hit.refreshing = this.refresh(task, student.id, offline, key).catch(() => undefined).finally(() => (hit.refreshing = undefined));
    }
    const d = this.cache.get(key)?.decision;
    return d && { threshold: d.threshold, describe: describeOnline(d) };
  }

  /** What the router uses now (reports); undefined before its first request of the version. */
  decisionFor(task: string, modelId: string): OnlineThresholdDecision | undefined {
    return this.cache.get(`${task}\u0000${modelId}`)?.decision;
  }

  /** Every decision the router holds, read from memory (the /metrics gauges). */
  *decisions(): Iterable<{ task: string; modelId: string; decision: OnlineThresholdDecision }> {
    for (const [key, e] of this.cache) {
      const [task, modelId] = key.split('\u0000') as [string, string];
      yield { task, modelId, decision: e.decision };
    }
  }

  /** The estimate from the sample as it is now, for a report: reads new pairs, leaves the router's cache alone. */
  async estimate(task: TaskConfig, modelId: string, offlineThreshold: number): Promise<OnlineThresholdDecision | undefined> {
    const online = onlineSettingsOf(task);
    if (!online) return undefined;
    const sample = await this.deps.sample.read(task, modelId, { maxAgeInMs: (this.deps.refreshInMs ?? 10_000) / 2 });
    return estimateOnlineThreshold({ ...online, offlineThreshold, sample });
  }

  private async refresh(task: TaskConfig, modelId: string, offlineThreshold: number, key: string): Promise<void> {
    const decision = await this.estimate(task, modelId, offlineThreshold);
    if (!decision) return;
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { at: this.deps.clock.now(), decision });
  }
}

function describeOnline(d: OnlineThresholdDecision): string {
  const what = `for ${describeTarget(d.target)} over ${d.rows} shadow rows`;
  if (d.state === 'offline') return `${fmt(d.threshold)} (version's τ ${what}, kept online)`;
  return `${fmt(d.threshold)} (online τ ${what}, ${d.state} from the version's ${fmt(d.offlineThreshold)})`;
}

/** Everything the router and the reports read about a cascade's serving version, over one shared sample. */
export interface CascadeMonitor {
  sample: ShadowSampleReader;
  shadow: AdaptiveShadowController;
  thresholds: OnlineCascadeThresholds;
}

export function createCascadeMonitor(deps: ShadowSampleReaderDeps & { refreshInMs?: number }): CascadeMonitor {
  const sample = new ShadowSampleReader(deps);
  const refresh = deps.refreshInMs !== undefined ? { refreshInMs: deps.refreshInMs } : {};
  return {
    sample,
    shadow: new AdaptiveShadowController({ ...deps, sample, ...refresh }),
    thresholds: new OnlineCascadeThresholds({ sample, clock: deps.clock, ...refresh }),
  };
}

/** The serving version's online state for a report: the router's decisions when it has made them, else estimated now. */
export interface CascadeOnlineStatus {
  modelId: string;
  since?: string;
  shadowRows: number;
  shadowAgreements: number;
  readAt: number;
  online?: OnlineThresholdDecision & { source: 'router' | 'report' };
  shadow?: ShadowRateDecision;
}

export async function cascadeOnlineStatus(monitor: CascadeMonitor, task: TaskConfig, modelId: string, offlineThreshold: number): Promise<CascadeOnlineStatus> {
  const routed = monitor.thresholds.decisionFor(task.name, modelId);
  const online = routed ? { ...routed, source: 'router' as const } : await monitor.thresholds.estimate(task, modelId, offlineThreshold).then((d) => d && { ...d, source: 'report' as const });
  const sample = monitor.sample.current(task.name, modelId) ?? (await monitor.sample.read(task, modelId));
  const shadow = monitor.shadow.decisionFor(task.name, modelId);
  return {
    modelId,
    ...(sample.since ? { since: sample.since } : {}),
    shadowRows: sample.comparable,
    shadowAgreements: sample.agreements,
    readAt: sample.readAt,
    ...(online ? { online } : {}),
    ...(shadow ? { shadow } : {}),
  };
}
