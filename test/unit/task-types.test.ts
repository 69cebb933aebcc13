import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { parseDatasetRows, parseDistillationSpec } from '../../src/core/distill/distillation-spec.js';
import { applySourceSplits, taskConfigFromSpec } from '../../src/core/distill/dataset-jobs.js';
import {
  extractAnswer,
  extractMathAnswer,
  meanScores,
  scoreAnswer,
  stripChainOfThought,
  taskTypeSettings,
} from '../../src/core/distill/task-types.js';
import type { Dataset } from '../../src/core/distill/dataset-builder.js';

describe('math answers (GSM8K scoring)', () => {
  it('takes the number after #### in a worked solution', () => {
    const solution =
      'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72';
    expect(extractMathAnswer(solution)).toBe('72');
  });

  it('takes "the answer is" and "Answer:" forms, the last one when reasoning mentions others', () => {
    expect(extractMathAnswer('First 3 * 4 = 12, then 12 + 5 = 17. The answer is 17.')).toBe('17');
    expect(extractMathAnswer('Step 1: 10 apples. Step 2: 2 eaten.\nAnswer: 8')).toBe('8');
    expect(extractMathAnswer('I thought the answer is 5, but rechecking, the final answer is $1,250.')).toBe('1250');
  });

  it('falls back to the last number and normalizes $, commas and trailing zeros', () => {
    expect(extractMathAnswer('She earns 12 per hour for 50 minutes, so 10 dollars')).toBe('10');
    expect(extractMathAnswer('#### $2,000.00')).toBe('2000');
    expect(extractMathAnswer('#### -3')).toBe('-3');
    expect(extractMathAnswer('no numbers here')).toBeNull();
  });

  it('scores exact match of the extracted answers, whatever the reasoning', () => {
    expect(scoreAnswer('math', 'Half of 48 is 24, plus 48 makes 72.\n#### 72', 'blah blah\n#### 72')).toEqual({ exactMatch: 1 });
    expect(scoreAnswer('math', 'So the answer is 72.0', '#### 72')).toEqual({ exactMatch: 1 });
    expect(scoreAnswer('math', 'The answer is 71', '#### 72')).toEqual({ exactMatch: 0 });
    expect(scoreAnswer('math', 'I do not know', '#### 72')).toEqual({ exactMatch: 0 });
  });

  it('keeps reasoning as the target of generative students and cuts it for others', () => {
    const text = 'Two boxes of 6 eggs: 2 * 6 = 12.\n#### 12';
    expect(extractAnswer('math', text)).toEqual({ target: text, answer: '12' });
    expect(extractAnswer('math', text, { keepReasoning: false })).toEqual({ target: '12', answer: '12' });
  });
});

describe('label tasks (nli, classification)', () => {
  it('strips chain-of-thought and maps the answer onto the NLI label set', () => {
    const cot = 'The premise says the man is sleeping; the hypothesis says he is running.\nThese cannot both hold.\nAnswer: Contradiction.';
    expect(stripChainOfThought(cot)).toBe('Contradiction.');
    expect(extractAnswer('nli', cot)).toEqual({ target: 'contradiction', answer: 'contradiction' });
    expect(extractAnswer('nli', 'entailment')).toEqual({ target: 'entailment', answer: 'entailment' });
    expect(extractAnswer('nli', 'Neutral - the premise says nothing about it').answer).toBe('neutral');
    expect(extractAnswer('nli', 'I cannot tell').answer).toBeNull();
  });

  it('scores accuracy by normalized label', () => {
    expect(scoreAnswer('nli', 'Entailment', 'entailment')).toEqual({ accuracy: 1 });
    expect(scoreAnswer('nli', 'neutral', 'entailment')).toEqual({ accuracy: 0 });
    const labels = ['transfer', 'card_declined'];
    expect(scoreAnswer('classification', 'card declined', 'card_declined', { labels })).toEqual({ accuracy: 1 });
    expect(scoreAnswer('classification', 'something else', 'transfer', { labels })).toEqual({ accuracy: 0 });
  });

  it('asks the teacher for the labels, and for reasoning only with chain-of-thought', () => {
    expect(taskTypeSettings('nli').systemPrompt).toMatch(/entailment, neutral, contradiction/);
    expect(taskTypeSettings('nli').systemPrompt).not.toMatch(/step by step/);
    expect(taskTypeSettings('nli', { chainOfThought: true }).systemPrompt).toMatch(/step by step[\s\S]*Answer: <answer>/);
    expect(taskTypeSettings('classification', { labels: ['a', 'b'] }).systemPrompt).toMatch(/from: a, b/);
  });
});

describe('qa, summarization and conversation metrics', () => {
  it('qa: SQuAD exact match and token F1', () => {
    expect(scoreAnswer('qa', 'The Eiffel Tower', 'eiffel tower')).toEqual({ exactMatch: 1, tokenF1: 1 });
    const partial = scoreAnswer('qa', 'in Paris France', 'Paris');
    expect(partial.exactMatch).toBe(0);
    expect(partial.tokenF1).toBeCloseTo(0.5, 6); // precision 1/3, recall 1
  });

  it('summarization: ROUGE-1/2/L and the length limit', () => {
    const ref = 'the cat sat on the mat';
    const same = scoreAnswer('summarization', ref, ref, { maxSummaryWords: 10 });
    expect(same).toEqual({ rouge1: 1, rouge2: 1, rougeL: 1, lengthOk: 1 });
    const other = scoreAnswer('summarization', 'a cat was on a mat today and it sat there for a long time', ref, { maxSummaryWords: 10 });
    expect(other.rouge1).toBeGreaterThan(0);
    expect(other.rouge1).toBeLessThan(1);
    expect(other.rouge2).toBeLessThan(other.rouge1!);
    expect(other.lengthOk).toBe(0);
  });

  it('conversation: chrF and ROUGE-L against the teacher', () => {
    const teacher = 'You can reset your password from the account settings page.';
    const close = scoreAnswer('conversation', 'You can reset the password on the account settings page.', teacher);
    const far = scoreAnswer('conversation', 'Our office opens at nine.', teacher);
    expect(scoreAnswer('conversation', teacher, teacher)).toEqual({ chrF: 1, rougeL: 1 });
    expect(close.chrF).toBeGreaterThan(far.chrF!);
    expect(close.rougeL).toBeGreaterThan(far.rougeL!);
  });

  it('averages per-metric', () => {
    expect(meanScores([{ a: 1, b: 0 }, { a: 0, b: 1 }, { a: 1, b: 1 }])).toEqual({ a: 2 / 3, b: 2 / 3 });
  });
});

describe('distillation spec and rows', () => {
  const base = { teacher: 'deepseek-v3', task_type: 'nli', training_data: '{"premise":"A man sleeps.","hypothesis":"A man runs.","label":2}\n' };

  it("fills Azure ML's teacher defaults and the success ratio", () => {
    const spec = parseDistillationSpec(base);
    expect(spec.teacher_settings.inference_parameters).toEqual({ temperature: 0.2, top_p: 0.1, max_tokens: 128 });
    // Soft labels are on unless turned off (soft-labels.ts); the field stays unset.
    expect(spec.teacher_settings.soft_labels).toBeUndefined();
    expect(spec.min_success_ratio).toBe(0.7);
    expect(spec.student).toEqual({ kind: 'onnx-classifier' });
    expect(spec.training_data).toEqual({ jsonl: base.training_data });
    const over = parseDistillationSpec({ ...base, teacher_settings: { inference_parameters: { temperature: 0.7, max_tokens: 512 } } });
    expect(over.teacher_settings.inference_parameters).toEqual({ temperature: 0.7, top_p: 0.1, max_tokens: 512 });
  });

  it('refuses bad specs with a typed 400 naming the field', () => {
    const bad = (input: unknown, param: string | null) => {
      try {
        parseDistillationSpec(input);
        throw new Error('accepted');
      } catch (err) {
        expect(err).toBeInstanceOf(DistilleryError);
        expect((err as DistilleryError).status).toBe(400);
        expect((err as DistilleryError).param).toBe(param);
      }
    };
    bad({ ...base, task_type: 'math' }, 'student');
    bad({ ...base, task_type: 'classification' }, 'labels');
    bad({ ...base, hyperparameters: { learning_rate: -1 } }, 'hyperparameters.learning_rate');
    bad({ ...base, training_data: { path: '../etc/passwd' } }, 'training_data.path');
    bad({ ...base, min_success_ratio: 2 }, 'min_success_ratio');
    bad({ ...base, surprise: true }, null); // unknown keys: the message names them
  });

  it('parses chat, prompt and NLI rows with stable ids and gold references', () => {
    const jsonl = [
      JSON.stringify({ messages: [{ role: 'user', content: 'Is it raining?' }, { role: 'assistant', content: 'neutral' }] }),
      JSON.stringify({ id: 'ex-7', prompt: 'Premise: X\nHypothesis: Y', label: 'entailment' }),
      JSON.stringify({ premise: 'A dog barks.', hypothesis: 'An animal makes noise.', label: 0 }),
      '',
      JSON.stringify({ premise: 'A dog barks.', hypothesis: 'An animal makes noise.', label: 0 }),
    ].join('\n');
    const { rows, duplicates } = parseDatasetRows(jsonl, 'train', 'nli');
    expect(duplicates).toBe(1);
    expect(rows.map((r) => r.reference)).toEqual(['neutral', 'entailment', 'entailment']);
    expect(rows[0]!.messages).toEqual([{ role: 'user', content: 'Is it raining?' }]);
    expect(rows[1]!.id).toBe('ex-7');
    expect(rows[2]!.messages[0]).toEqual({ role: 'user', content: 'Premise: A dog barks.\nHypothesis: An animal makes noise.' });
    // Hashed ids do not depend on the row's position or on the run.
    expect(parseDatasetRows(jsonl.split('\n').reverse().join('\n'), 'train', 'nli').rows.map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(rows[0]!.id).toMatch(/^h[0-9a-f]{14}$/);
  });

  it('names the line of a malformed row and drops validation prompts seen in training', () => {
    expect(() => parseDatasetRows('{"prompt":"ok"}\n{not json', 'train', 'qa')).toThrow(/training_data line 2: not valid JSON/);
    expect(() => parseDatasetRows('{"label":"x"}', 'validation', 'nli')).toThrow(/validation_data line 1: .*premise/);
    expect(() => parseDatasetRows('{"id":"a","prompt":"x"}\n{"id":"a","prompt":"y"}', 'train', 'qa')).toThrow(/duplicate id 'a'/);
    const seen = { ids: new Set<string>(), prompts: new Set<string>() };
    parseDatasetRows('{"prompt":"shared"}\n{"prompt":"only train"}', 'train', 'qa', seen);
    const v = parseDatasetRows('{"prompt":"shared"}\n{"prompt":"only validation"}', 'validation', 'qa', seen);
    expect(v.rows.map((r) => r.split)).toEqual(['validation']);
    expect(v.duplicates).toBe(1);
  });

  it('builds a runtime task from the spec: labels, student hyperparameters, trainer, gate', () => {
    const spec = parseDistillationSpec({ ...base, task: 'nli-demo', hyperparameters: { num_epochs: 7, temperature: 3, learning_rate: 0.5, batch_size: 4 }, gate: { minAgreement: 0.8 } });
    const task = taskConfigFromSpec(spec);
    expect(task.name).toBe('nli-demo');
    expect(task.classification?.labels).toEqual(['entailment', 'neutral', 'contradiction']);
    expect(task.classification?.student).toMatchObject({ epochs: 7, temperature: 3, learning_rate: 0.5, batch_size: 4 });
    expect(task.distill).toMatchObject({ trainer: 'local-onnx', enabled: false, threshold: null });
    expect(task.distill.gate.minAgreement).toBe(0.8);
    const remote = taskConfigFromSpec(parseDistillationSpec({ ...base, task_type: 'math', student: { kind: 'remote', baseModel: 'phi-4-mini', modelRef: 'aoai' }, hyperparameters: { num_epochs: 3 } }));
    expect(remote.name).toBe('distill-math');
    expect(remote.classification).toBeUndefined();
    expect(remote.distill.trainer).toBe('azure-openai');
    expect(remote.distill.fineTuning).toMatchObject({ baseModel: 'phi-4-mini', modelRef: 'aoai', n_epochs: 3 });
  });
});

describe('dataset job helpers', () => {
  // (retry-after parsing moved to test/unit/stage1-retry-hint.test.ts: adapters put the hint on the error.)

  it("keeps the spec's validation rows as the test split and recounts", () => {
    const ex = (id: string, label: string) => ({ id, promptHash: id.padStart(14, '0'), split: 'train' as const, messages: [], target: label, label, createdAt: '' });
    const dataset: Dataset = {
      examples: [ex('1', 'a'), ex('2', 'b'), ex('3', 'a')],
      manifest: {
        task: 't',
        version: 'v',
        createdAt: '',
        source: { pairsScanned: 3 },
        counts: { kept: 3, train: 3, validation: 0, test: 0, dropped: { noTeacher: 0, error: 0, refusal: 0, empty: 0, overLong: 0, invalidLabel: 0, truncatedByRedaction: 0, duplicate: 0 } },
        classBalance: { a: { train: 2, validation: 0, test: 0 }, b: { train: 1, validation: 0, test: 0 } },
        contentHash: 'x',
        splitRule: '',
      },
    };
    const out = applySourceSplits(dataset, new Map([['1', 'train'], ['2', 'validation'], ['3', 'train']]), 0);
    expect(out.examples.map((e) => e.split)).toEqual(['train', 'test', 'train']);
    expect(out.manifest.counts).toMatchObject({ train: 2, validation: 0, test: 1 });
    expect(out.manifest.classBalance).toEqual({ a: { train: 2, validation: 0, test: 0 }, b: { train: 0, validation: 0, test: 1 } });
    expect(applySourceSplits(dataset, new Map([['1', 'train']]), 0)).toBe(dataset);
  });
});
