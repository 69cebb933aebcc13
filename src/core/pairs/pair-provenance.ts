import type { PairRecord } from './pair-record.js';

// Why both arms of a pair answered. Only a random shadow makes a pair an unbiased sample of the
// student's traffic: the router drew it independently of the prompt (shadow policy's sampleRate,
// cascade's shadowSampleRate, a canary's teacher-served share). An escalation happened *because*
// the student was unsure (its hardest prompts); a fallback because an arm failed. Derived from
// what the gateway already stores — the arms' roles and the route reason — so pairs written
// before this module existed are classified too:
//
// - an arm with role `shadow` ran in the background: random shadow;
// - a cascade that shadowed the teacher and then escalated adopts the shadow's answer as the
//   escalation (role `escalated`); its reason then carries "teacher shadows" (decide-route.ts);
// - escalated: the teacher's role is `escalated` or the reason says "; escalated:";
// - fallback: an arm's role is `fallback_failed` or the reason says "; fallback to".
// A pair can be both a random shadow and an escalation; it then counts in both samples.

export interface PairProvenance {
  randomShadow: boolean;
  escalated: boolean;
  fallback: boolean;
}

const SHADOW_REASON = /\b(?:teacher|student) shadows\b/;

export function pairProvenance(pair: Pick<PairRecord, 'teacher' | 'student' | 'reason'>): PairProvenance {
  const reason = typeof pair.reason === 'string' ? pair.reason : '';
  const roles = [pair.teacher?.role, pair.student?.role];
  return {
    randomShadow: roles.includes('shadow') || SHADOW_REASON.test(reason),
    escalated: pair.teacher?.role === 'escalated' || reason.includes('; escalated:'),
    fallback: roles.includes('fallback_failed') || reason.includes('; fallback to '),
  };
}
