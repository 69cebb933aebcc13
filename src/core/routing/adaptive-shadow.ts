import { z } from 'zod';
import { wilsonInterval } from '../eval/statistics.js';

// Adaptive shadowing of a cascade: right after a promotion nothing is known about the new
// version's online agreement, so a large random share of its requests is also sent to the teacher
// (startRate, e.g. 20%). Every `halfLifeInPairs` comparable shadow pairs in which the lower
// confidence bound of agreement still holds (≥ minAgreement) halve the rate, down to a floor
// (1–2%) that keeps drift detection alive; a recent window whose upper bound falls below
// minAgreement (drift) or a bound that no longer holds sends it back to startRate. A constant 20%
// shadow caps the cost cut near 80%; the floor lifts that cap to ~98%. Pure: the counts come from
// the caller (AdaptiveShadowController reads them from the pair store, as the canary does).

export const adaptiveShadowSchema = z
  .strictObject({
    startRate: z.number().min(0).max(1).default(0.2),
    floorRate: z.number().min(0).max(1).default(0.02),
    /** Comparable shadow pairs (bound holding) per halving of the rate. */
    halfLifeInPairs: z.number().int().positive().default(200),
    /** Agreement with the teacher the shadow sample must keep (lower bound) for the rate to decay. */
    minAgreement: z.number().gt(0).max(1).default(0.9),
    /** Two-sided confidence of the Wilson bounds. */
    confidence: z.number().min(0.5).max(0.999).default(0.9),
    /** Comparable pairs before the bound is trusted at all. */
    minPairs: z.number().int().min(1).default(50),
    /** Size of the recent window the drift check looks at. */
    recentWindow: z.number().int().min(10).default(200),
  })
  .refine((s) => s.floorRate <= s.startRate, { message: 'floorRate must not exceed startRate.', path: ['floorRate'] });

export type AdaptiveShadowSettings = z.infer<typeof adaptiveShadowSchema>;
export const DEFAULT_ADAPTIVE_SHADOW: AdaptiveShadowSettings = adaptiveShadowSchema.parse({});

export interface ShadowCounts {
  /** Comparable random-shadow pairs of the version since its promotion. */
  comparable: number;
  agreements: number;
  /** The most recent `recentWindow` of them (drift check). */
  recent?: { comparable: number; agreements: number };
}

export interface ShadowRateDecision {
  rate: number;
  state: 'warming_up' | 'decaying' | 'floor' | 'bound_not_met' | 'drift';
  reason: string;
}

export function adaptiveShadowRate(settings: AdaptiveShadowSettings, counts: ShadowCounts): ShadowRateDecision {
  const { startRate, floorRate, minAgreement, confidence } = settings;
  const recent = counts.recent;
  if (recent && recent.comparable >= settings.minPairs) {
    const upper = wilsonInterval(recent.agreements, recent.comparable, confidence).upper;
    if (upper < minAgreement) {
      return { rate: startRate, state: 'drift', reason: `drift: recent agreement upper bound ${upper.toFixed(3)} < ${minAgreement} over ${recent.comparable} pairs` };
    }
  }
  if (counts.comparable < settings.minPairs) {
    return { rate: startRate, state: 'warming_up', reason: `${counts.comparable} comparable shadow pairs since promotion (< ${settings.minPairs})` };
  }
  const lower = wilsonInterval(counts.agreements, counts.comparable, confidence).lower;
  if (lower < minAgreement) {
    return { rate: startRate, state: 'bound_not_met', reason: `agreement lower bound ${lower.toFixed(3)} < ${minAgreement} over ${counts.comparable} pairs` };
  }
  const decayed = startRate * 2 ** (-counts.comparable / settings.halfLifeInPairs);
  const rate = Math.max(floorRate, decayed);
  return {
    rate,
    state: rate === floorRate ? 'floor' : 'decaying',
    reason: `agreement lower bound ${lower.toFixed(3)} ≥ ${minAgreement} over ${counts.comparable} pairs: shadow ${(rate * 100).toFixed(1)}%`,
  };
}
