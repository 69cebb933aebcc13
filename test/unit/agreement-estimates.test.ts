import { describe, expect, it } from 'vitest';
import { buildOnlineReport } from '../../src/core/eval/online-report.js';
import { DEFAULT_PRICING, priceCall } from '../../src/core/eval/pricing.js';
import { renderOnlineTable } from '../../src/core/eval/report-format.js';
import { pairAgreement } from '../../src/core/pairs/pair-agreement.js';
import { pairProvenance } from '../../src/core/pairs/pair-provenance.js';
import { reportSummaryLines } from '../../src/demo/demo-summary.js';
import { cascadePairs, pooledAgreement, promptTokensOf, TRUE_STUDENT_QUALITY } from '../fixtures/cascade-pairs.js';

// #16 items 1–2: for one and the same student, the agreement estimates must not move with the
// cascade threshold (the old pooled number read 0.39 → 0.72), and the teacher-only cost must not
// lean on escalations (the old extrapolation from every teacher call did, by 2–9%).

const report = (threshold: number) =>
  buildOnlineReport(cascadePairs({ threshold, count: 4000 }), { pricing: DEFAULT_PRICING, now: 0 }).then((r) => r.tasks[0]!);

describe('agreement estimates under a cascade', () => {
  it('student quality stays within its interval as the threshold moves 0.3 → 0.5 → 0.9; the old pool does not', async () => {
    const pooled: number[] = [];
    const quality: number[] = [];
    for (const threshold of [0.3, 0.5, 0.9]) {
      const pairs = cascadePairs({ threshold, count: 4000 });
      const t = await report(threshold);
      const sq = t.agreement.studentQuality;
      pooled.push(pooledAgreement(pairs));
      quality.push(sq.rate!);
      // The 95% Wilson interval holds the student's true quality at every threshold.
      expect(sq.interval!.lower).toBeLessThan(TRUE_STUDENT_QUALITY);
      expect(sq.interval!.upper).toBeGreaterThan(TRUE_STUDENT_QUALITY);
      expect(sq.n).toBeGreaterThan(600);
      // The pooled diagnostic reproduces the old definition.
      expect(t.agreement.pooled.rate).toBeCloseTo(pooled.at(-1)!, 12);
      // Escalation agreement is the hard prompts' (the true value below threshold θ is 0.3 + 0.325θ).
      expect(t.agreement.escalation.rate!).toBeLessThan(TRUE_STUDENT_QUALITY);
      expect(Math.abs(t.agreement.escalation.rate! - (0.3 + 0.325 * threshold))).toBeLessThan(0.04);
      // Served agreement: teacher-served requests agree, student-served ones at 0.3 + 0.65·E[c | c ≥ θ].
      const served = threshold + (1 - threshold) * (0.3 + 0.65 * ((1 + threshold) / 2));
      expect(t.agreement.served.interval!.lower).toBeLessThan(served);
      expect(t.agreement.served.interval!.upper).toBeGreaterThan(served);
    }
    expect(Math.max(...pooled) - Math.min(...pooled)).toBeGreaterThan(0.1);
    expect(Math.max(...quality) - Math.min(...quality)).toBeLessThan(0.05);
  });

  it('estimates teacher-only cost from the shadow sample, within its interval of the true bill', async () => {
    for (const threshold of [0.3, 0.9]) {
      const pairs = cascadePairs({ threshold, count: 4000 });
      // The true counterfactual: every request's own prompt priced at the teacher.
      const truth = pairs.reduce(
        (s, p) => s + priceCall(DEFAULT_PRICING, { modelId: 'DeepSeek-V3', hosting: 'remote', usage: { promptTokens: promptTokensOf(p.student!.confidence!), completionTokens: 3 }, latencyInMs: 0 }),
        0,
      );
      const t = await report(threshold);
      expect(t.cost.teacherOnly.method).toBe('shadow-sample');
      expect(t.cost.teacherOnly.interval!.lower).toBeLessThan(truth);
      expect(t.cost.teacherOnly.interval!.upper).toBeGreaterThan(truth);
      expect(Math.abs(t.cost.teacherOnlyUsd! - truth) / truth).toBeLessThan(0.02);
    }
  });

  it('teacher-only cost is never null when traffic exists: without shadows it uses per-request token estimates', async () => {
    const pairs = cascadePairs({ threshold: 0.5, count: 500, shadowSampleRate: 0 });
    const t = (await buildOnlineReport(pairs, { pricing: DEFAULT_PRICING, now: 0 })).tasks[0]!;
    expect(t.cost.teacherOnly.method).toBe('token-estimate');
    expect(t.cost.teacherOnlyUsd).toBeGreaterThan(0);
    expect(t.cost.teacherOnly.interval).not.toBeNull();
    // No random shadow: student quality is unknown rather than read off the escalations.
    expect(t.agreement.studentQuality.rate).toBeNull();
    expect(t.agreement.escalation.n).toBeGreaterThan(0);
  });

  it('derives why both arms ran from the gateway record, including a shadow adopted as the escalation', () => {
    const pairs = cascadePairs({ threshold: 0.5, count: 2000 });
    const adopted = pairs.filter((p) => p.teacher?.role === 'escalated' && p.reason.includes('teacher shadows'));
    expect(adopted.length).toBeGreaterThan(50);
    for (const p of adopted) expect(pairProvenance(p)).toEqual({ randomShadow: true, escalated: true, fallback: false });
    const escalationOnly = pairs.find((p) => p.teacher?.role === 'escalated' && !p.reason.includes('teacher shadows'))!;
    expect(pairProvenance(escalationOnly)).toEqual({ randomShadow: false, escalated: true, fallback: false });
    expect(pairProvenance({ reason: 'pinned to teacher; fallback to student after teacher failed (timeout)', teacher: { model: 't', latencyInMs: 1, role: 'fallback_failed' } })).toMatchObject({ randomShadow: false, fallback: true });
    expect(pairAgreement(escalationOnly)).not.toBe('not_comparable');
  });

  it('the demo summary prints the same estimates as the report table', async () => {
    const r = await buildOnlineReport(cascadePairs({ threshold: 0.5, count: 1000 }), { pricing: DEFAULT_PRICING, now: 0 });
    const table = renderOnlineTable(r);
    const summary = reportSummaryLines(r).join('\n');
    const ag = r.tasks[0]!.agreement;
    const shown = [ag.studentQuality.rate, ag.escalation.rate, ag.served.rate].map((x) => `${(100 * x!).toFixed(1)}%`);
    for (const s of shown) {
      expect(summary).toContain(s);
      expect(table).toContain(s);
    }
    // Each labelled line's whole estimate (value, interval, n) appears verbatim in the table.
    for (const line of reportSummaryLines(r).filter((l) => / \[.*\] \(n = /.test(l))) expect(table).toContain(line.split(': ').at(-1)!);
  });
});
