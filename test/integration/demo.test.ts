import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/run-demo.js';

// `npm run demo` in its fast mode, as CI runs it: the end state is a promoted student and an A/B
// report in which the student agrees with the teacher on at least 90% of unseen prompts.

describe('npm run demo (fast mode)', () => {
  it('ends with a promoted student that agrees with the teacher on unseen prompts', async () => {
    const lines: string[] = [];
    const result = await runDemo({ fast: true, print: (l) => lines.push(l), progressBars: false });
    try {
      expect(result.job.trigger.type).toBe('threshold');
      expect(result.job.outcome).toBe('promoted');
      expect(result.promotedVersion).toBe(1);
      expect(result.unseen.servedByStudent / result.unseen.requests).toBeGreaterThan(0.5);
      expect(result.unseen.studentTeacherAgreement).toBeGreaterThanOrEqual(0.9);
      const report = result.report.tasks[0]!;
      expect(report.servedBy.student).toBe(result.unseen.servedByStudent);
      expect(report.cost.ledger!.netSavingsUsd).toBeGreaterThan(0);
      const text = lines.join('\n');
      for (const heading of ['1. Traffic', '2. Distillation', '3. A/B on', '4. Report', 'Cost per 1,000 requests', 'Dashboard:']) expect(text).toContain(heading);
    } finally {
      await result.platform.close();
    }
  }, 600_000);
});
