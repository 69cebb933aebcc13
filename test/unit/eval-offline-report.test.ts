import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { corpusBleu } from '../../src/core/eval/bleu.js';
import { corpusChrf } from '../../src/core/eval/chrf.js';
import { buildOfflineReport, type OfflineArm, type OfflineExample } from '../../src/core/eval/offline-report.js';
import type { PairwiseJudgement } from '../../src/core/eval/pairwise-judge.js';
import { DEFAULT_PRICING } from '../../src/core/eval/pricing.js';
import { renderReportJson, renderReportMarkdown, renderReportTable } from '../../src/core/eval/report-format.js';

const LABELS = ['balance', 'transfer', 'card_lost', 'pin_change'];

function classificationCase() {
  const examples: OfflineExample[] = Array.from({ length: 40 }, (_, i) => ({ id: `e${i}`, input: `question ${i}`, reference: LABELS[i % 4]! }));
  const wrong = (label: string) => LABELS[(LABELS.indexOf(label) + 1) % 4]!;
  // Teacher wrong on e0..e3 (36/40); candidate wrong on e2..e7 (34/40); baseline wrong on e0..e19 (20/40).
  const arm = (name: string, modelId: string, hosting: 'remote' | 'in-process', wrongIds: Set<number>, latencyInMs: number): OfflineArm => ({
    name,
    modelId,
    hosting,
    outputs: examples.map((e, i) => ({
      exampleId: e.id,
      text: wrongIds.has(i) ? wrong(e.reference!) : e.reference!,
      latencyInMs,
      ...(hosting === 'remote' ? { usage: { promptTokens: 1000, completionTokens: 10 } } : { memoryInMb: 512 }),
    })),
  });
  const range = (a: number, b: number) => new Set(Array.from({ length: b - a }, (_, k) => a + k));
  return {
    examples,
    teacher: arm('DeepSeek-V3', 'DeepSeek-V3', 'remote', range(0, 4), 3200),
    candidate: arm('student v3', 'intents@3', 'in-process', range(2, 8), 480),
    baseline: arm('base', 'intents@0', 'in-process', range(0, 20), 480),
  };
}

describe('offline report: classification with gold labels', () => {
  const c = classificationCase();
  const report = buildOfflineReport({ task: 'intents', kind: 'classification', ...c, pricing: DEFAULT_PRICING, options: { nonInferiorityMargin: 0.2, resamples: 500 } });

  it('scores each arm with bootstrap intervals around the point estimate', () => {
    const acc = report.metrics[0]!;
    expect(acc.name).toBe('accuracy');
    expect(acc.arms.teacher!.value).toBeCloseTo(36 / 40, 12);
    expect(acc.arms.candidate!.value).toBeCloseTo(34 / 40, 12);
    expect(acc.arms.baseline!.value).toBeCloseTo(20 / 40, 12);
    for (const v of Object.values(acc.arms)) {
      expect(v!.lower).toBeLessThanOrEqual(v!.value);
      expect(v!.upper).toBeGreaterThanOrEqual(v!.value);
    }
  });

  it('compares the candidate with the teacher and the baseline', () => {
    const acc = report.metrics[0]!;
    const vsBase = acc.differences.find((d) => d.against === 'baseline')!;
    expect(vsBase.estimate).toBeCloseTo(0.35, 12);
    expect(vsBase.verdict).toBe('significant');
    expect(vsBase.relativePercent).toBeCloseTo(70, 9);
    const vsTeacher = acc.differences.find((d) => d.against === 'teacher')!;
    expect(vsTeacher.verdict).toBe('not_significant');
    // Candidate right/teacher wrong on e0, e1 (b = 2); teacher right/candidate wrong on e4..e7 (c = 4).
    const mc = report.mcnemar.find((m) => m.against === 'teacher')!.result;
    expect([mc.b, mc.c]).toEqual([2, 4]);
    expect(mc.pValue).toBeCloseTo((2 * (1 + 6 + 15)) / 64, 12);
    expect(report.mcnemar.find((m) => m.against === 'baseline')!.result.verdict).toBe('significant');
    // Mean difference −0.05 with SE ≈ 0.06: the one-sided 95% bound (≈ −0.15) clears δ = 0.2.
    expect(report.nonInferiority.verdict).toBe('non_inferior');
  });

  it('reports latency, cost, memory and the headline figures', () => {
    expect(report.headline.qualityRetainedPercent).toBeCloseTo((100 * 34) / 36, 9);
    expect(report.headline.latencyP50ReductionPercent).toBeCloseTo(85, 9);
    const teacher = report.arms.find((a) => a.role === 'teacher')!;
    // DeepSeek-V3 on Azure AI Foundry: 1000 × $1.14/M + 10 × $4.56/M per request.
    expect(teacher.cost!.perRequestUsd).toBeCloseTo((1000 * 1.14 + 10 * 4.56) / 1e6, 15);
    const cand = report.arms.find((a) => a.role === 'candidate')!;
    expect(cand.cost!.perRequestUsd).toBeCloseTo(0.48 * 0.5 * 0.000026 + 0.4e-6, 15);
    expect(cand.memory!.peakInMb).toBe(512);
    expect(report.headline.throughputGain).toBeCloseTo(3200 / 480, 9);
    expect(report.headline.improvementOverBaseline).toMatchObject({ metric: 'accuracy', verdict: 'significant' });
    expect(cand.classification!.confusion.labels).toEqual([...LABELS].sort());
  });

  it('renders JSON, Markdown and a CLI table with the same figures', () => {
    expect(JSON.parse(renderReportJson(report)).metrics[0].arms.candidate.value).toBeCloseTo(0.85, 12);
    const md = renderReportMarkdown(report);
    expect(md).toContain('| accuracy | 85.0% [');
    expect(md).toContain('quality retained (candidate / teacher) | 94.4%');
    expect(md).toContain('exact p = 0.6875');
    const cli = renderReportTable(report);
    expect(cli).toContain('accuracy');
    expect(cli).toContain('85.0%');
    expect(cli.split('\n').some((l) => l.startsWith('-----'))).toBe(true);
  });

  it('is reproducible for a seed', () => {
    const again = buildOfflineReport({ task: 'intents', kind: 'classification', ...c, pricing: DEFAULT_PRICING, options: { nonInferiorityMargin: 0.2, resamples: 500 } });
    expect(again).toEqual(report);
  });

  it('refuses to conclude on too few examples', () => {
    const few = classificationCase();
    const small = buildOfflineReport({
      task: 'intents',
      kind: 'classification',
      examples: few.examples.slice(0, 10),
      teacher: few.teacher,
      candidate: few.candidate,
      baseline: few.baseline,
      pricing: DEFAULT_PRICING,
    });
    expect(small.metrics[0]!.differences.every((d) => d.verdict === 'insufficient_data')).toBe(true);
    expect(small.nonInferiority.verdict).toBe('insufficient_data');
  });

  it('rejects bad input with typed errors', () => {
    expect(() => buildOfflineReport({ task: 't', kind: 'classification', ...c, examples: [], pricing: DEFAULT_PRICING })).toThrow(DistilleryError);
    expect(() =>
      buildOfflineReport({ task: 't', kind: 'classification', ...c, examples: [c.examples[0]!, c.examples[0]!], pricing: DEFAULT_PRICING }),
    ).toThrow(DistilleryError);
  });
});

describe('offline report: generation against the teacher', () => {
  const examples: OfflineExample[] = [
    { id: 'a', input: 'Where is my order?' },
    { id: 'b', input: 'How do I reset my password?' },
    { id: 'c', input: 'Can I change my card PIN?' },
  ];
  const teacher: OfflineArm = {
    name: 'gpt-4o',
    modelId: 'gpt-4o',
    hosting: 'remote',
    outputs: [
      { exampleId: 'a', text: 'Your order ships within two business days.', latencyInMs: 3000 },
      { exampleId: 'b', text: 'Open settings, choose security, then reset password.', latencyInMs: 3500 },
      { exampleId: 'c', text: 'Yes, you can change your PIN in the app.', latencyInMs: 2500 },
    ],
  };
  const candidate: OfflineArm = {
    name: 'Phi-4-mini',
    modelId: 'Phi-4-mini',
    hosting: 'remote',
    outputs: [
      { exampleId: 'a', text: 'Your order ships in two business days.', latencyInMs: 400 },
      { exampleId: 'b', text: 'Go to settings, choose security and reset the password.', latencyInMs: 500 },
      { exampleId: 'c', text: 'Yes, you can change your PIN in the app.', latencyInMs: 450 },
    ],
  };

  it('uses the teacher as the reference and matches the corpus metrics computed directly', () => {
    const r = buildOfflineReport({ task: 'support', kind: 'generation', examples, teacher, candidate, pricing: DEFAULT_PRICING });
    expect(r.referenceSource).toBe('teacher');
    const refs = [teacher.outputs.map((o) => o.text)];
    const hyps = candidate.outputs.map((o) => o.text);
    expect(r.metrics.find((m) => m.name === 'chrF2')!.arms.candidate!.value).toBeCloseTo(corpusChrf(hyps, refs).score, 9);
    expect(r.metrics.find((m) => m.name === 'BLEU')!.arms.candidate!.value).toBeCloseTo(corpusBleu(hyps, refs).score, 9);
    expect(r.metrics.find((m) => m.name === 'normalized match')!.arms.candidate!.value).toBeCloseTo(1 / 3, 12);
    expect(r.metrics[0]!.arms.teacher).toBeUndefined();
    expect(r.nonInferiority.verdict).toBe('insufficient_data');
    // No usage recorded: tokens estimated from text, flagged.
    expect(r.arms[0]!.cost!.estimatedTokens).toBe(true);
    expect(r.headline.costReductionPercent!).toBeGreaterThan(90);
  });

  it('with gold answers, tests non-inferiority on per-example chrF as a fraction', () => {
    const gold: OfflineExample[] = Array.from({ length: 40 }, (_, i) => ({ id: `g${i}`, input: `q${i}`, reference: `the answer number ${i} is here` }));
    const armOf = (name: string, f: (i: number) => string): OfflineArm => ({ name, modelId: 'gpt-4o', hosting: 'remote', outputs: gold.map((e, i) => ({ exampleId: e.id, text: f(i) })) });
    const r = buildOfflineReport({
      task: 'qa',
      kind: 'generation',
      examples: gold,
      teacher: armOf('teacher', (i) => `the answer number ${i} is here`),
      candidate: armOf('student', (i) => (i % 10 === 0 ? `answer ${i}` : `the answer number ${i} is here`)),
      pricing: DEFAULT_PRICING,
      options: { nonInferiorityMargin: 0.15 },
    });
    expect(r.referenceSource).toBe('gold');
    expect(r.metrics[0]!.arms.teacher!.value).toBeCloseTo(100, 9);
    const ni = r.nonInferiority as { meanDifference: number; verdict: string };
    // Four of forty answers lose about 0.6 of their chrF: mean loss ≈ 0.06 (a fraction, not points),
    // one-sided 95% bound ≈ −0.11, inside δ = 0.15.
    expect(ni.meanDifference).toBeLessThan(0);
    expect(ni.meanDifference).toBeGreaterThan(-0.1);
    expect(ni.verdict).toBe('non_inferior');
    expect(r.headline.qualityRetainedPercent!).toBeGreaterThan(90);
  });

  it('scores JSON validity of structured answers when asked', () => {
    const json = (texts: string[], name: string): OfflineArm => ({ name, modelId: 'gpt-4o', hosting: 'remote', outputs: texts.map((text, i) => ({ exampleId: examples[i]!.id, text })) });
    const r = buildOfflineReport({
      task: 'extract',
      kind: 'generation',
      examples,
      teacher: json(['{"intent":"order"}', '{"intent":"password"}', '{"intent":"pin"}'], 'teacher'),
      candidate: json(['```json\n{"intent":"order"}\n```', '{"intent":', '{"other":1}'], 'student'),
      pricing: DEFAULT_PRICING,
      options: { structuredOutput: { requiredKeys: ['intent'] } },
    });
    expect(r.metrics.find((m) => m.name === 'valid JSON')!.arms.candidate!.value).toBeCloseTo(1 / 3, 12);
  });

  it('uses judge verdicts for non-inferiority when there is no gold reference', () => {
    const judgements = new Map<string, PairwiseJudgement>(
      examples.map((e) => [e.id, { verdict: 'tie', consistent: true, rounds: [], usage: { promptTokens: 10, completionTokens: 2 } }]),
    );
    const r = buildOfflineReport({ task: 'support', kind: 'generation', examples, teacher, candidate, pricing: DEFAULT_PRICING, judgements, options: { minSamples: 3 } });
    expect(r.nonInferiority).toMatchObject({ verdict: 'non_inferior', basis: expect.stringContaining('judge') });
    expect(r.judge!.ties).toBe(3);
  });
});
