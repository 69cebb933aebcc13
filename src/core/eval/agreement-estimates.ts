import type { PairVerdict } from '../pairs/pair-agreement.js';
import { pairProvenance, type PairProvenance } from '../pairs/pair-provenance.js';
import type { PairRecord } from '../pairs/pair-record.js';
import { wilsonInterval, type Interval } from './statistics.js';

// The three agreement estimates a report, the drift trigger and the canary quote, each from the
// pairs that make it mean one thing (docs/concepts.md, "Agreement estimates"):
//
// - student quality: agreement on the random shadow sample — an unbiased estimate of how often the
//   student says what the teacher says on the student's traffic (Wilson interval, n);
// - escalation agreement: agreement on escalated pairs — the student's hardest prompts, reported
//   for what it is and never as the student's quality;
// - served agreement: how often what users received equals what the teacher would have said.
//   Requests the teacher served count as agreeing; requests the student served are estimated from
//   the shadowed ones among them, each weighted by (student-served requests / shadowed
//   student-served pairs) — importance weights of the shadow sample within that stratum.
// `pooled` (every comparable pair, whatever why both arms ran) is kept only as a diagnostic: it
// moves with the cascade threshold for one and the same student.

export interface AgreementEstimate {
  n: number;
  agreements: number;
  rate: number | null;
  interval: Interval | null;
  /** n reaches the report's minimum sample size. */
  sufficient: boolean;
}

export interface ServedAgreementEstimate {
  rate: number | null;
  interval: Interval | null;
  /** Requests whose user received an answer. */
  answered: number;
  teacherServed: number;
  studentServed: number;
  /** Student-served requests the teacher shadowed at random (the weighted sample). */
  sample: number;
  sufficient: boolean;
}

export interface AgreementEstimates {
  studentQuality: AgreementEstimate;
  escalation: AgreementEstimate;
  served: ServedAgreementEstimate;
  pooled: { n: number; agreements: number; rate: number | null };
}

/**
 * Confidence of the intervals the drift check and the canary decide on: a two-sided 90% Wilson
 * interval, whose ends are one-sided 95% bounds.
 */
export const DRIFT_CONFIDENCE = 0.9;

const counter = () => ({ n: 0, agree: 0 });

export class AgreementTally {
  private readonly shadow = counter();
  private readonly escalation = counter();
  private readonly pooled = counter();
  private readonly servedSample = counter();
  private teacherServed = 0;
  private studentServed = 0;

  /** Adds one pair with its verdict (pairAgreement) and, if known already, its provenance. */
  add(pair: PairRecord, verdict: PairVerdict, provenance: PairProvenance = pairProvenance(pair)): void {
    const served = pair[pair.servedArm];
    if (served && !served.error && served.role !== 'fallback_failed') {
      if (pair.servedArm === 'teacher') this.teacherServed++;
      else this.studentServed++;
    }
    if (verdict === 'not_comparable') return;
    const a = verdict === 'agree' ? 1 : 0;
    const bump = (c: { n: number; agree: number }) => {
      c.n++;
      c.agree += a;
    };
    bump(this.pooled);
    if (provenance.randomShadow) {
      bump(this.shadow);
      if (pair.servedArm === 'student') bump(this.servedSample);
    }
    if (provenance.escalated) bump(this.escalation);
  }

  estimates(confidence = 0.95, minSamples = 1): AgreementEstimates {
    const estimate = (c: { n: number; agree: number }): AgreementEstimate => ({
      n: c.n,
      agreements: c.agree,
      rate: c.n > 0 ? c.agree / c.n : null,
      interval: c.n > 0 ? wilsonInterval(c.agree, c.n, confidence) : null,
      sufficient: c.n >= minSamples,
    });
    return {
      studentQuality: estimate(this.shadow),
      escalation: estimate(this.escalation),
      served: servedAgreement(this.teacherServed, this.studentServed, this.servedSample, confidence, minSamples),
      pooled: { n: this.pooled.n, agreements: this.pooled.agree, rate: this.pooled.n > 0 ? this.pooled.agree / this.pooled.n : null },
    };
  }
}

/** Stratified (importance-weighted) served agreement: teacher-served requests agree by definition. */
export function servedAgreement(
  teacherServed: number,
  studentServed: number,
  sample: { n: number; agree: number },
  confidence = 0.95,
  minSamples = 1,
): ServedAgreementEstimate {
  const answered = teacherServed + studentServed;
  const base = { answered, teacherServed, studentServed, sample: sample.n };
  if (answered === 0 || (studentServed > 0 && sample.n === 0)) return { ...base, rate: null, interval: null, sufficient: false };
  const w = wilsonInterval(sample.agree, sample.n, confidence);
  const p = sample.n > 0 ? sample.agree / sample.n : 1;
  const mix = (x: number) => (teacherServed + studentServed * x) / answered;
  return {
    ...base,
    rate: mix(p),
    interval: { estimate: mix(p), lower: mix(sample.n > 0 ? w.lower : 1), upper: mix(sample.n > 0 ? w.upper : 1), confidence },
    sufficient: studentServed === 0 || sample.n >= minSamples,
  };
}
