import { pairAgreement, type AgreementTask } from '../pairs/pair-agreement.js';
import { pairProvenance } from '../pairs/pair-provenance.js';
import type { PairRecord } from '../pairs/pair-record.js';
import type { Clock, ModelRegistry, PairStore } from '../ports.js';
import type { TaskConfig } from '../tasks/task-schema.js';

// The random-shadow sample of the serving student version, kept as running counts and read
// incrementally: each read lists only the pairs written since the previous one (a time cursor),
// never the whole history since the promotion again. Both the adaptive shadow rate
// (adaptive-shadow-controller.ts) and the online cascade τ (online-cascade-threshold.ts) read it,
// so one scan serves both.
//
// A pair record is written when both arms have answered, so it can land in the store a while
// after its createdAt (the teacher's shadow call, a spell in the outbox). The reader therefore
// re-lists the last `lateArrivalInMs` before now on every read and counts each pair id once (the
// ids seen in that window are remembered); older pairs are settled and are never listed again.
//
// The student's confidences go into a fixed histogram of CONFIDENCE_BINS bins (comparable rows
// and agreements per bin), so the τ re-estimation has the risk–coverage curve of the whole sample
// in bounded memory: at τ = k / CONFIDENCE_BINS the student serves exactly the rows of bins ≥ k.

export const CONFIDENCE_BINS = 10_000;

export interface ShadowSample {
  readonly task: string;
  readonly modelId: string;
  /** When the version was promoted: the sample starts there (undefined: not a registry version, whole history). */
  readonly since?: string;
  /** Comparable random-shadow pairs and their agreements. */
  readonly comparable: number;
  readonly agreements: number;
  /** The most recent `recentWindow` of them (drift check). */
  readonly recent: { comparable: number; agreements: number };
  /** Comparable rows per confidence bin, and agreements among them (bins with a confidence the cascade could serve). */
  readonly bins: { readonly rows: Uint32Array; readonly agree: Uint32Array };
  /** Comparable rows the cascade never serves whatever τ: no confidence, or an invalid answer it escalates. */
  readonly neverServed: number;
  /** Pair records listed by the last read, and by all reads (what incremental reading saves shows here). */
  readonly lastReadCount: number;
  readonly totalReadCount: number;
  /** Clock time of the last read. */
  readonly readAt: number;
}

interface SampleState extends ShadowSample {
  since?: string;
  comparable: number;
  agreements: number;
  recent: { comparable: number; agreements: number };
  neverServed: number;
  lastReadCount: number;
  totalReadCount: number;
  readAt: number;
  /** createdAt of the newest pair listed so far. */
  cursorAt?: string;
  /** Ids of sample pairs that a later read may list again, with their createdAt (ms). */
  seen: Map<string, number>;
  ring: Uint8Array;
  ringLength: number;
  ringNext: number;
}

export interface ShadowSampleReaderDeps {
  registry: ModelRegistry;
  pairs: PairStore;
  tasks: { get(name: string): AgreementTask | undefined };
  clock: Clock;
  /** How long after its createdAt a pair record may still land in the store (default 2 min). */
  lateArrivalInMs?: number;
}

const DEFAULT_RECENT_WINDOW = 200;

function emptyState(task: string, modelId: string, since: string | undefined, window: number): SampleState {
  return {
    task,
    modelId,
    ...(since ? { since } : {}),
    comparable: 0,
    agreements: 0,
    recent: { comparable: 0, agreements: 0 },
    bins: { rows: new Uint32Array(CONFIDENCE_BINS), agree: new Uint32Array(CONFIDENCE_BINS) },
    neverServed: 0,
    lastReadCount: 0,
    totalReadCount: 0,
    readAt: Number.NEGATIVE_INFINITY,
    seen: new Map(),
    ring: new Uint8Array(window),
    ringLength: 0,
    ringNext: 0,
  };
}

/** The bin of a confidence: τ = k / CONFIDENCE_BINS serves the bins ≥ k. */
export function confidenceBin(confidence: number): number {
  return Math.min(CONFIDENCE_BINS - 1, Math.max(0, Math.floor(confidence * CONFIDENCE_BINS)));
}

/** Whether a cascade with escalateOnInvalid would escalate this student answer whatever its confidence. */
function invalidAnswer(pair: PairRecord, task: AgreementTask | undefined): boolean {
  if (!task?.parseLabel) return false;
  const stored = pair.labels?.student;
  return stored !== undefined ? stored === null : task.parseLabel(pair.student?.text ?? '') === null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class ShadowSampleReader {
  private readonly states = new Map<string, SampleState>();
  private readonly reading = new Map<string, Promise<ShadowSample>>();

  constructor(private readonly deps: ShadowSampleReaderDeps) {}

  /** The sample as last read, without reading. */
  current(task: string, modelId: string): ShadowSample | undefined {
    return this.states.get(`${task}\u0000${modelId}`);
  }

  /** Every sample as last read, without reading (the /metrics gauges). */
  samples(): Iterable<ShadowSample> {
    return this.states.values();
  }

  /**
   * Folds in the pairs written since the last read and returns the sample. Concurrent callers share
   * one read; with `maxAgeInMs`, a sample read that recently is returned as it is.
   */
  read(task: TaskConfig, modelId: string, options: { maxAgeInMs?: number } = {}): Promise<ShadowSample> {
    const key = `${task.name}\u0000${modelId}`;
    const pending = this.reading.get(key);
    if (pending) return pending;
    const state = this.states.get(key);
    if (state && options.maxAgeInMs !== undefined && this.deps.clock.now() - state.readAt < options.maxAgeInMs) return Promise.resolve(state);
    const p = this.readNew(task, modelId, key).finally(() => this.reading.delete(key));
    this.reading.set(key, p);
    return p;
  }

  private async readNew(task: TaskConfig, modelId: string, key: string): Promise<ShadowSample> {
    const promoted = await this.deps.registry.getPromoted(task.name);
    const since = promoted?.id === modelId ? (promoted.promotedAt ?? promoted.createdAt) : undefined;
    const policy = task.routing.policy;
    const window = policy.type === 'cascade' && policy.adaptiveShadow ? policy.adaptiveShadow.recentWindow : DEFAULT_RECENT_WINDOW;
    let state = this.states.get(key);
    // A new promotion of the same version (after a rollback) starts a new sample.
    if (!state || state.since !== since || state.ring.length !== window) {
      if (this.states.size >= 1000) this.states.clear();
      state = emptyState(task.name, modelId, since, window);
      this.states.set(key, state);
    }
    const now = this.deps.clock.now();
    const settledBefore = now - (this.deps.lateArrivalInMs ?? 120_000);
    const from = this.startOf(state, settledBefore);
    const runtime = this.deps.tasks.get(task.name);
    const escalateOnInvalid = policy.type === 'cascade' && policy.escalateOnInvalid;
    let listed = 0;
    for await (const p of this.deps.pairs.list({ task: task.name, ...(from ? { since: from } : {}) })) {
      listed++;
      if (state.cursorAt === undefined || p.createdAt > state.cursorAt) state.cursorAt = p.createdAt;
      if (p.student?.model !== modelId || state.seen.has(p.id) || !pairProvenance(p).randomShadow) continue;
      state.seen.set(p.id, Date.parse(p.createdAt));
      this.fold(state, p, runtime, escalateOnInvalid);
    }
    // Ids older than where the next read starts can never be listed again.
    const horizon = Math.min(state.cursorAt ? Date.parse(state.cursorAt) : now, settledBefore);
    for (const [id, at] of state.seen) if (at < horizon) state.seen.delete(id);
    state.lastReadCount = listed;
    state.totalReadCount += listed;
    state.readAt = now;
    return state;
  }

  /** Where a read starts: just after the cursor when everything up to it is settled, else where the unsettled window begins. */
  private startOf(state: SampleState, settledBefore: number): string | undefined {
    let from: string | undefined;
    if (state.cursorAt === undefined) from = state.since;
    else {
      const cursor = Date.parse(state.cursorAt);
      // createdAt has millisecond precision: a settled cursor's own pairs are all counted already.
      from = cursor < settledBefore ? iso(cursor + 1) : iso(settledBefore);
    }
    if (from !== undefined && state.since !== undefined && from < state.since) from = state.since;
    return from;
  }

  private fold(state: SampleState, p: PairRecord, runtime: AgreementTask | undefined, escalateOnInvalid: boolean): void {
    const verdict = pairAgreement(p, runtime);
    if (verdict === 'not_comparable') return;
    const v = verdict === 'agree' ? 1 : 0;
    state.comparable++;
    state.agreements += v;
    const window = state.ring.length;
    if (state.ringLength === window) state.recent.agreements -= state.ring[state.ringNext]!;
    else state.ringLength++;
    state.ring[state.ringNext] = v;
    state.ringNext = (state.ringNext + 1) % window;
    state.recent.agreements += v;
    state.recent.comparable = state.ringLength;
    const c = p.student?.confidence;
    if (typeof c !== 'number' || !Number.isFinite(c) || (escalateOnInvalid && invalidAnswer(p, runtime))) {
      state.neverServed++;
      return;
    }
    const b = confidenceBin(c);
    state.bins.rows[b] = state.bins.rows[b]! + 1;
    state.bins.agree[b] = state.bins.agree[b]! + v;
  }
}
