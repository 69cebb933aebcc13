import { DistilleryError } from '../errors.js';
import type { PairRecord } from '../pairs/pair-record.js';
import { findModelPrice, priceCall, type Pricing } from './pricing.js';
import { RunningMoments } from './running-moments.js';
import { meanInterval, type Interval } from './statistics.js';

// The counterfactual bill: every request of the window answered by the teacher. Requests where the
// teacher ran are counted at their observed cost. The others (the student served and the teacher
// was not asked) are estimated without selection bias:
//
// 1. shadow-sample: the mean teacher cost of the random shadow pairs among student-served
//    requests — a random sample of exactly the requests whose teacher cost is missing — times
//    their number, with a normal interval on that mean. (Extrapolating from every teacher call, as
//    before, leaned on escalations: the student's hardest, usually longer prompts.)
// 2. token-estimate, when the window has fewer than 2 such shadow pairs: each missing request's
//    tokens (the student's usage, else 4 characters per token of the prompt and the answer) priced
//    at the teacher model most used in the window, scaled by the mean ratio of observed teacher
//    cost to that estimate on pairs where both are known (the interval comes from that ratio).
//
// `usd` is null only when nothing can price the teacher (no priced teacher model in the window).

export interface TeacherOnlyCost {
  usd: number | null;
  interval: Interval | null;
  method: 'observed' | 'shadow-sample' | 'token-estimate' | 'unknown';
  /** Requests whose teacher cost was observed. */
  observedRequests: number;
  /** Requests without a priced teacher call, whose teacher cost is estimated. */
  estimatedRequests: number;
  /** Pairs the estimate rests on (shadow pairs, or calibration pairs for the token estimate). */
  sample: number;
}

interface Tokens {
  promptTokens: number;
  completionTokens: number;
}

const chars = (pair: PairRecord) => pair.request?.messages?.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : JSON.stringify(m.content ?? '').length), 0) ?? 0;

/** The tokens the teacher would have used on this request, from what the student used. */
function tokenEstimate(pair: PairRecord): Tokens {
  const u = pair.student?.usage;
  return {
    promptTokens: u?.promptTokens ?? Math.ceil(chars(pair) / 4),
    completionTokens: u?.completionTokens ?? Math.ceil((pair.student?.text?.length ?? 0) / 4),
  };
}

function priceTokens(pricing: Pricing, modelId: string, usage: Tokens): number | undefined {
  try {
    return findModelPrice(pricing, modelId) ? priceCall(pricing, { modelId, hosting: 'remote', usage, latencyInMs: 0 }) : undefined;
  } catch (err) {
    if (err instanceof DistilleryError) return undefined;
    throw err;
  }
}

export class TeacherOnlyAccumulator {
  private observedUsd = 0;
  private observed = 0;
  private missing = 0;
  private readonly missingTokens: Tokens = { promptTokens: 0, completionTokens: 0 };
  private readonly shadow = new RunningMoments();
  private readonly ratio = new RunningMoments();
  private readonly models = new Map<string, number>();

  constructor(private readonly pricing: Pricing) {}

  /** One request, with its priced teacher cost (undefined when the teacher did not run or is unpriced). */
  add(pair: PairRecord, teacherCostUsd: number | undefined, randomShadow: boolean): void {
    if (teacherCostUsd === undefined) {
      this.missing++;
      const t = tokenEstimate(pair);
      this.missingTokens.promptTokens += t.promptTokens;
      this.missingTokens.completionTokens += t.completionTokens;
      return;
    }
    this.observed++;
    this.observedUsd += teacherCostUsd;
    const model = pair.teacher!.model;
    this.models.set(model, (this.models.get(model) ?? 0) + 1);
    if (randomShadow && pair.servedArm === 'student') this.shadow.add(teacherCostUsd);
    if (pair.student && !pair.student.error) {
      const proxy = priceTokens(this.pricing, model, tokenEstimate(pair));
      if (proxy !== undefined && proxy > 0) this.ratio.add(teacherCostUsd / proxy);
    }
  }

  finish(confidence: number): TeacherOnlyCost {
    const base = { observedRequests: this.observed, estimatedRequests: this.missing };
    const total = (extra: number) => this.observedUsd + this.missing * extra;
    if (this.missing === 0) {
      const usd = this.observed > 0 ? this.observedUsd : null;
      return { ...base, usd, interval: usd === null ? null : { estimate: usd, lower: usd, upper: usd, confidence }, method: usd === null ? 'unknown' : 'observed', sample: this.observed };
    }
    if (this.shadow.n >= 2) {
      const m = meanInterval(this.shadow.n, this.shadow.mean, this.shadow.variance(), confidence);
      const interval = { estimate: total(m.estimate), lower: total(Math.max(0, m.lower)), upper: total(m.upper), confidence };
      return { ...base, usd: interval.estimate, interval, method: 'shadow-sample', sample: this.shadow.n };
    }
    const model = [...this.models.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const proxy = model === undefined ? undefined : priceTokens(this.pricing, model, this.missingTokens);
    if (proxy === undefined) return { ...base, usd: null, interval: null, method: 'unknown', sample: 0 };
    const q = this.ratio.n > 0 ? this.ratio.mean : 1;
    const r = this.ratio.n >= 2 ? meanInterval(this.ratio.n, q, this.ratio.variance(), confidence) : undefined;
    const usd = this.observedUsd + proxy * q;
    const interval = r ? { estimate: usd, lower: this.observedUsd + proxy * Math.max(0, r.lower), upper: this.observedUsd + proxy * r.upper, confidence } : null;
    return { ...base, usd, interval, method: 'token-estimate', sample: this.ratio.n };
  }
}
