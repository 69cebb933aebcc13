import type { Arm, CascadeTargetConfig, RoutingConfig, StudentCascadeCalibration } from './policy-schema.js';
import { stickyBucket } from './sticky-bucket.js';

// The routing decision: a pure function of the policy, the request's routing context and an
// injected random source. It never mutates its inputs and performs no I/O, so every policy is
// unit-tested exhaustively; src/core/routing/chat-gateway.ts carries the decision out.

export interface RouteContext {
  user?: string;
  metadata?: Record<string, string> | null;
  /** Set only from the admin-scoped `x-distillery-force-arm` header. */
  forcedArm?: Arm;
  /** False while the task has no promoted student (or no student configured at all). */
  studentAvailable: boolean;
  /**
   * Canary ramp of a newly promoted student: the share of student-bound traffic it may serve
   * (e.g. 0.1 → 0.5 → 1). The rest goes to the teacher with the student shadowed, so its
   * online agreement keeps being measured. Undefined: no ramp.
   */
  canaryShare?: number;
  /** The cascade threshold the resolved student version calibrated, and the target it was chosen for. */
  studentCalibration?: StudentCascadeCalibration;
  /** Adaptive shadow rate of the resolved version (see core/routing/adaptive-shadow.ts); replaces the policy's fixed rate. */
  shadowRate?: number;
  /** A target cascade's τ re-estimated from the version's shadow sample (see core/routing/online-cascade-threshold.ts). */
  onlineThreshold?: OnlineCascadeThreshold;
}

/** The online τ of a target cascade and how to name it in the route's reason. */
export interface OnlineCascadeThreshold {
  threshold: number;
  describe: string;
}

export interface RouteDecision {
  /** The arm asked first; its answer is served unless a cascade escalates or it fails. */
  primary: Arm;
  /** Arm called in the background, never delaying the response. */
  shadow?: Arm;
  /** Student-first cascade: escalate to the teacher below this confidence. */
  cascade?: { threshold: number; escalateOnInvalid: boolean };
  /** Arm to answer with if the primary fails. */
  fallback?: Arm;
  /** Human-readable reason, sent as `x-distillery-reason` and stored with the pair. */
  reason: string;
  /** The policy type that decided (or 'forced' / 'no-student'). */
  policy: string;
}

const other = (arm: Arm): Arm => (arm === 'teacher' ? 'student' : 'teacher');

export function decideRoute(routing: RoutingConfig, ctx: RouteContext, random: () => number): RouteDecision {
  const decision = decidePolicy(routing, ctx, random);
  const share = ctx.canaryShare;
  if (share === undefined || share >= 1 || decision.primary !== 'student' || decision.policy === 'forced') return decision;
  // Sticky when the caller is known, so a user does not flip between versions mid-conversation.
  const key = ctx.user;
  const u = key ? stickyBucket('canary\u0000' + key) : random();
  if (u < share) return { ...decision, reason: `${decision.reason}; canary ${Math.round(share * 100)}%: student` };
  return {
    primary: 'teacher',
    shadow: 'student',
    ...(routing.fallback ? { fallback: 'student' as const } : {}),
    reason: `canary ${Math.round(share * 100)}%: teacher serves, new student shadows`,
    policy: 'canary',
  };
}

function decidePolicy(routing: RoutingConfig, ctx: RouteContext, random: () => number): RouteDecision {
  const policy = routing.policy;
  const withFallback = (d: RouteDecision): RouteDecision =>
    routing.fallback && (d.primary === 'teacher' ? ctx.studentAvailable : true)
      ? { ...d, fallback: other(d.primary) }
      : d;

  if (ctx.forcedArm) {
    if (ctx.forcedArm === 'student' && !ctx.studentAvailable) {
      return { primary: 'teacher', reason: 'forced student, but no student is available', policy: 'forced' };
    }
    return { primary: ctx.forcedArm, reason: `forced by admin header`, policy: 'forced' };
  }
  if (!ctx.studentAvailable) {
    return { primary: 'teacher', reason: 'no student available for this task', policy: 'no-student' };
  }

  switch (policy.type) {
    case 'pinned':
      return withFallback({ primary: policy.arm, reason: `pinned to ${policy.arm}`, policy: 'pinned' });

    case 'split': {
      const key =
        policy.stickyKey === 'user' ? ctx.user : (ctx.metadata ?? undefined)?.[policy.stickyKey.metadata];
      // Without a sticky key the caller cannot be kept on one arm; fall back to a random draw.
      const u = key === undefined || key === '' ? random() : stickyBucket(policy.salt + '\u0000' + key);
      const arm: Arm = u < policy.studentWeight ? 'student' : 'teacher';
      const how = key === undefined || key === '' ? 'random' : 'sticky';
      return withFallback({
        primary: arm,
        reason: `split ${Math.round(policy.studentWeight * 100)}% student, ${how} bucket ${u.toFixed(3)}`,
        policy: 'split',
      });
    }

    case 'shadow': {
      const shadowed = policy.sampleRate >= 1 || random() < policy.sampleRate;
      return withFallback({
        primary: policy.serve,
        ...(shadowed ? { shadow: other(policy.serve) } : {}),
        reason: shadowed ? `shadow: ${policy.serve} serves, ${other(policy.serve)} shadows` : `shadow: ${policy.serve} serves, not sampled`,
        policy: 'shadow',
      });
    }

    case 'cascade': {
      const rate = ctx.shadowRate ?? policy.shadowSampleRate;
      const shadowed = rate > 0 && random() < rate;
      const tau = cascadeThreshold(policy, ctx.studentCalibration, ctx.onlineThreshold);
      return withFallback({
        primary: 'student',
        cascade: { threshold: tau.threshold, escalateOnInvalid: policy.escalateOnInvalid },
        ...(shadowed ? { shadow: 'teacher' as const } : {}),
        reason: `cascade: student first, teacher below confidence ${tau.describe}${shadowed ? '; teacher shadows (random sample)' : ''}`,
        policy: 'cascade',
      });
    }
  }
}

type CascadePolicy = Extract<RoutingConfig['policy'], { type: 'cascade' }>;

const sameTarget = (a: CascadeTargetConfig, b: StudentCascadeCalibration['target']): boolean =>
  'minAgreement' in a
    ? a.minAgreement === b.minAgreement && a.confidence === (b.confidence ?? a.confidence)
    : a.maxAccuracyLoss === b.maxAccuracyLoss && a.confidence === (b.confidence ?? a.confidence);

/**
 * The cascade's τ: with a quality target, the online τ re-estimated from the version's shadow
 * sample when there is one (it starts from the version's own τ and moves only as far as its bound
 * allows), else the one the student version chose for that same target on held-out data; a version
 * without one (not calibrated, or the target could not be met, or it was chosen for another target)
 * falls back to the policy's raw threshold, or serves nothing.
 */
export function cascadeThreshold(
  policy: CascadePolicy,
  calibration: StudentCascadeCalibration | undefined,
  online?: OnlineCascadeThreshold,
): { threshold: number; describe: string } {
  const target = policy.target;
  if (!target) return { threshold: policy.threshold!, describe: `${policy.threshold}` };
  if (online) return online;
  const name = 'minAgreement' in target ? `minAgreement ${target.minAgreement}` : `maxAccuracyLoss ${target.maxAccuracyLoss}`;
  if (calibration && sameTarget(target, calibration.target)) {
    return { threshold: calibration.threshold, describe: `${calibration.threshold.toFixed(4)} (version's τ for ${name})` };
  }
  if (policy.threshold !== undefined) return { threshold: policy.threshold, describe: `${policy.threshold} (no calibrated τ for ${name})` };
  // No τ meets the target for this version: the student still answers first but never serves.
  return { threshold: Number.POSITIVE_INFINITY, describe: `∞ (no calibrated τ for ${name}: the teacher answers)` };
}
