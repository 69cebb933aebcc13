import { describe, expect, it } from 'vitest';
import { candidateLatencyReport } from '../../src/core/distill/candidate-latency-report.js';
import type { DatasetExample } from '../../src/core/distill/dataset-builder.js';
import { DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS, gateSchema, resolveGate } from '../../src/core/distill/distill-settings.js';
import { decidePromotion, evaluateCandidate } from '../../src/core/distill/evaluate-candidate.js';
import { studentKindOf } from '../../src/core/distill/student-kind.js';
import type { ChatModel } from '../../src/core/ports.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';

// The gate's p95 budget is per student kind (n-gram bag, pair-aware, convolutional, encoder,
// remote), read from the version's lineage: the same measured latency passes an encoder student
// and fails a convolutional one. The budget used is named in the gate's reasons.

const gate = (over: object = {}) => gateSchema.parse(over);
const labels = ['a', 'b'];
const task = { config: taskSchema.parse({ name: 'intents', teacher: 'teacher' }), parseLabel: (t: string) => (labels.includes(t.trim()) ? t.trim() : null) };
const test: DatasetExample[] = Array.from({ length: 60 }, (_, i) => ({
  id: `p${i}`,
  promptHash: `h${i}`,
  split: 'test',
  messages: [{ role: 'user', content: `text ${i}` }],
  target: labels[i % 2]!,
  label: labels[i % 2]!,
  createdAt: '2026-01-01T00:00:00.000Z',
}));

/** An in-process student that agrees with the teacher and takes at least `ms` per answer (a timer: a lower bound however loaded the machine). */
function slowStudent(ms: number): ChatModel & { warmed: number } {
  const model = {
    id: 'intents@2',
    hosting: 'in-process' as const,
    warmed: 0,
    async warm() {
      model.warmed++;
    },
    async generate(req: Parameters<ChatModel['generate']>[0]) {
      await new Promise((r) => setTimeout(r, ms));
      const i = Number(/text (\d+)/.exec(String(req.messages.at(-1)!.content))![1]);
      return { text: labels[i % 2]!, finishReason: 'stop' as const, usage: { promptTokens: 1, completionTokens: 1 } };
    },
    stream: () => {
      throw new Error('not used');
    },
  };
  return model as unknown as ChatModel & { warmed: number };
}

const onnxVersion = (chosen: string, extra: object = {}) => ({
  kind: 'onnx' as const,
  lineage: {
    hyperparameters: {
      featurizer: 'ngrams',
      candidates: [
        { kind: 'ngrams', chosen: chosen === 'ngrams', validationAccuracy: 0.9, sizeInBytes: 8_000_000, p50InMs: 0.04, p99InMs: 0.4, durationInMs: 1 },
        { kind: 'conv', chosen: chosen === 'conv', validationAccuracy: 0.91, sizeInBytes: 6_000_000, p50InMs: 0.08, p99InMs: 3.9, durationInMs: 1 },
        { kind: 'encoder', chosen: chosen === 'encoder', validationAccuracy: 0.95, sizeInBytes: 90_000_000, p50InMs: 6, p99InMs: 20, durationInMs: 1 },
      ],
      ...extra,
    },
  },
});

describe('latency budgets per student kind', () => {
  it('the same measured p95 passes an encoder student and fails a convolutional one, naming the kind and budget', async () => {
    const settings = gate({ minTestExamples: 10, maxP95LatencyInMsByKind: { conv: 5, encoder: 2_000 } });
    const student = slowStudent(20);
    const asConv = await evaluateCandidate({ task, test, candidate: student, gate: settings, studentKind: 'conv' });
    expect(student.warmed).toBe(1);
    expect(asConv.candidate.latency.p95InMs).toBeGreaterThanOrEqual(15);
    expect(asConv.gate).toMatchObject({ studentKind: 'conv', maxP95LatencyInMs: 5, latencyBudgetFrom: 'maxP95LatencyInMsByKind' });
    const rejected = decidePromotion(asConv, settings);
    expect(rejected.promote).toBe(false);
    expect(rejected.reasons).toEqual([expect.stringMatching(/^p95 latency [\d.]+ ms > 5 ms \(conv student budget\) \[maxP95LatencyInMsByKind\.conv\]$/)]);

    // The very same measurement, judged as an encoder student.
    const asEncoder = { ...asConv, gate: resolveGate(settings, { labelled: true, hosting: 'in-process', studentKind: 'encoder' }) };
    const promoted = decidePromotion(asEncoder, settings);
    expect(promoted.promote).toBe(true);
    expect(promoted.reasons.join('\n')).toMatch(/p95 latency [\d.]+ ms ≤ 2000 ms \(encoder student budget\) \[maxP95LatencyInMsByKind\.encoder\]/);
  });

  it('resolves by kind, then maxP95LatencyInMs, then the kind default capped by the hosting, then the hosting', () => {
    const at = (over: object, ctx: { hosting: 'in-process' | 'remote'; studentKind?: 'ngrams' | 'pair' | 'conv' | 'encoder' | 'remote' }) => {
      const g = resolveGate(gate(over), { labelled: true, ...ctx });
      return [g.maxP95LatencyInMs, g.latencyBudgetFrom];
    };
    expect(at({ maxP95LatencyInMsByKind: { pair: 1 }, maxP95LatencyInMs: 40 }, { hosting: 'in-process', studentKind: 'pair' })).toEqual([1, 'maxP95LatencyInMsByKind']);
    expect(at({ maxP95LatencyInMsByKind: { pair: 1 }, maxP95LatencyInMs: 40 }, { hosting: 'in-process', studentKind: 'ngrams' })).toEqual([40, 'maxP95LatencyInMs']);
    expect(at({}, { hosting: 'in-process', studentKind: 'ngrams' })).toEqual([DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS.ngrams, 'kind-default']);
    expect(at({}, { hosting: 'in-process', studentKind: 'conv' })).toEqual([DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS.conv, 'kind-default']);
    expect(at({}, { hosting: 'in-process', studentKind: 'encoder' })).toEqual([50, 'kind-default']);
    expect(at({}, { hosting: 'remote', studentKind: 'remote' })).toEqual([10_000, 'kind-default']);
    // A tighter hosting budget caps the kind defaults; a kind-less version gets the hosting budget.
    expect(at({ latencyBudgetsInMs: { inProcess: 3 } }, { hosting: 'in-process', studentKind: 'conv' })).toEqual([3, 'kind-default']);
    expect(at({ latencyBudgetsInMs: { remote: 3_000 } }, { hosting: 'remote', studentKind: 'remote' })).toEqual([3_000, 'kind-default']);
    expect(at({}, { hosting: 'in-process' })).toEqual([50, 'hosting']);
    expect(DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS.ngrams).toBeLessThan(DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS.conv);
    expect(DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS.conv).toBeLessThan(DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS.encoder);
  });

  it('rejects an unknown kind or a non-positive budget in the settings', () => {
    expect(gateSchema.safeParse({ maxP95LatencyInMsByKind: { ngrams: 0 } }).success).toBe(false);
    // A misspelt kind would otherwise be a budget silently never applied.
    const typo = gateSchema.safeParse({ maxP95LatencyInMsByKind: { ngram: 1 } });
    expect(typo.success).toBe(false);
    expect(JSON.stringify(typo.error?.issues)).toMatch(/ngram/);
  });

  it('reads the kind from the lineage: the chosen candidate, the featurizer of older versions, remote endpoints', () => {
    expect(studentKindOf(onnxVersion('conv'))).toBe('conv');
    expect(studentKindOf(onnxVersion('encoder'))).toBe('encoder');
    expect(studentKindOf({ kind: 'onnx', lineage: { hyperparameters: { featurizer: 'pair' } } })).toBe('pair');
    expect(studentKindOf({ kind: 'onnx', lineage: { hyperparameters: { featurizer: 'ngrams', encoder: { pinned: true } } } })).toBe('encoder');
    expect(studentKindOf({ kind: 'onnx', lineage: {} })).toBeUndefined();
    expect(studentKindOf({ kind: 'remote', lineage: {} })).toBe('remote');
  });

  it('the job report lists every candidate kind with its p50, p99, size and its kind budget', () => {
    const report = candidateLatencyReport(onnxVersion('ngrams'), gate({ maxP95LatencyInMsByKind: { conv: 4 } }));
    expect(report.studentKind).toBe('ngrams');
    expect(report.candidates).toEqual([
      { kind: 'ngrams', chosen: true, validationAccuracy: 0.9, p50InMs: 0.04, p99InMs: 0.4, sizeInBytes: 8_000_000, maxP95LatencyInMs: DEFAULT_LATENCY_BUDGETS_BY_KIND_IN_MS.ngrams },
      { kind: 'conv', chosen: false, validationAccuracy: 0.91, p50InMs: 0.08, p99InMs: 3.9, sizeInBytes: 6_000_000, maxP95LatencyInMs: 4 },
      { kind: 'encoder', chosen: false, validationAccuracy: 0.95, p50InMs: 6, p99InMs: 20, sizeInBytes: 90_000_000, maxP95LatencyInMs: 50 },
    ]);
    expect(candidateLatencyReport({ kind: 'remote', lineage: {} }, gate())).toEqual({ studentKind: 'remote', candidates: [] });
  });
});
