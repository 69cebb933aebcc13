import { describe, expect, it } from 'vitest';
import { budgetCut, workPerExample } from '../../src/adapters/onnx/candidate-budget.js';
import { parseHyperparameters, type TrainingExample } from '../../src/adapters/onnx/train-student.js';
import { trainCandidates } from '../../src/adapters/onnx/train-candidates.js';

// The candidate search's time budget. Found on CLINC150 under load: the n-gram bag took 23.5 s,
// the budget (60 s) was not yet spent, so the convolutional candidate started and took 59.7 s more
// (86 s in all). The budget now also refuses to start the convolutional candidate when its
// projected time — the bag's time per epoch scaled by the two kinds' work per example — would
// overrun it, and the lineage says so.

const texts = ['what is my account balance', 'please transfer twenty dollars to my savings account', 'book a table for two tonight'];

describe('candidate budget', () => {
  it('counts the convolution as more work per example than the n-gram bag on short utterances', () => {
    const hp = parseHyperparameters({});
    const bag = workPerExample('ngrams', hp, 151, texts);
    const conv = workPerExample('conv', hp, 151, texts);
    expect(conv / bag).toBeGreaterThan(1.5);
    expect(conv / bag).toBeLessThan(10);
  });

  it('skips the convolutional candidate when its projection overruns the budget, and says why', () => {
    const hp = parseHyperparameters({ candidate_budget_in_ms: 60_000 });
    const work = { labels: 151, texts };
    const slowBag = [{ kind: 'ngrams', durationInMs: 23_500, epochsRun: 5 }];
    const reason = budgetCut('conv', hp, 23_600, slowBag, work);
    expect(reason).toMatch(/projected \d+ ms .* would overrun the 60000 ms budget/);
    // A quick bag leaves room: the convolutional candidate starts.
    expect(budgetCut('conv', hp, 2_100, [{ kind: 'ngrams', durationInMs: 2_000, epochsRun: 5 }], work)).toBeUndefined();
    // The first candidate always runs; any kind waits once the budget is spent.
    expect(budgetCut('ngrams', hp, 0, [], work)).toBeUndefined();
    expect(budgetCut('pair', hp, 61_000, slowBag, work)).toMatch(/budget was spent/);
  });

  it('records a budget-skipped candidate in the search result (lineage)', () => {
    const make = (n: number): TrainingExample[] =>
      Array.from({ length: n }, (_, i) => ({ text: `${i % 2 ? 'good great fine' : 'bad awful poor'} item ${i}`, label: i % 2 ? 'pos' : 'neg' }));
    // A 1 ms budget is spent by the time the first candidate finishes.
    const result = trainCandidates({ labels: ['pos', 'neg'], train: make(200), validation: make(40) }, { epochs: 2, buckets: 1024, candidate_budget_in_ms: 1 });
    const conv = result.candidates.find((c) => c.kind === 'conv')!;
    expect(conv.skipped).toBe('budget');
    expect(conv.reason).toMatch(/budget/);
    expect(result.candidates.find((c) => c.kind === 'ngrams')!.chosen).toBe(true);
  });
});
