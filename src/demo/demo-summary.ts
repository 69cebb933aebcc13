import type { OnlineReport } from '../core/eval/online-report.js';
import { formatEstimate, formatTeacherOnly } from '../core/eval/report-format.js';

// The demo's summary of the online report: the same estimates, formatted by the same functions as
// the report table printed just below it, so the two can never show different numbers.

export function reportSummaryLines(report: OnlineReport): string[] {
  const t = report.tasks[0];
  if (!t) return ['   No traffic in the report window.'];
  const ag = t.agreement;
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const lines = [
    `   Agreement with the teacher (${ag.definition}):`,
    `     student quality (random shadow): ${formatEstimate(ag.studentQuality)}`,
    `     escalation agreement (escalated pairs only): ${formatEstimate(ag.escalation)}`,
    `     served agreement (what users received, importance-weighted): ${formatEstimate({ ...ag.served, n: ag.served.sample })}`,
  ];
  if (t.reference?.served) lines.push(`   Served accuracy against gold labels (the report's "served" accuracy): ${pct(t.reference.served.estimate)} (n = ${t.reference.servedPairs}).`);
  lines.push(`   Teacher-only cost (the report's "teacher-only"): ${formatTeacherOnly(t)}.`);
  return lines;
}

/**
 * The notes printed under the text table: what its estimates mean. (The table marks nothing with
 * `*`; the demo test fails if a marker ever appears without a footnote.)
 */
export function tableFootnotes(): string[] {
  return [
    'Notes: student quality = agreement with the teacher on the random shadow sample; escalation agreement = on escalated pairs only (the student\'s hardest prompts);',
    '       served agreement = what users received vs what the teacher would have said, importance-weighted; intervals are 95% Wilson; "(insufficient data)" = too few pairs for a verdict.',
  ];
}
