import { describe, expect, it } from 'vitest';
import { parseDistillationSpec } from '../../src/core/distill/distillation-spec.js';
import { softLabelsUnavailable, temperatureUnavailable, wantsSoftLabels } from '../../src/core/distill/soft-labels.js';
import { teacherRequest } from '../../src/core/distill/teacher-request.js';
import { DistilleryError } from '../../src/core/errors.js';

// #17 row 5: soft labels by default when the teacher can give logprobs, and the KD temperature
// refused (400 naming it) when the student would learn hard labels only.

const nli = { teacher: 'deepseek-v3', task_type: 'nli', training_data: '{"premise":"A man sleeps.","hypothesis":"A man runs.","label":2}\n' };
const row = { id: 'r1', split: 'train' as const, messages: [{ role: 'user' as const, content: 'Premise: a\nHypothesis: b' }] };

function refusal(input: unknown): DistilleryError {
  try {
    parseDistillationSpec(input);
  } catch (err) {
    if (err instanceof DistilleryError) return err;
    throw err;
  }
  throw new Error('spec was accepted');
}

describe('soft labels by default', () => {
  it('asks the teacher for top logprobs on a label task with no setting at all', () => {
    const spec = parseDistillationSpec(nli);
    expect(wantsSoftLabels(spec)).toBe(true);
    expect(teacherRequest(spec, row)).toMatchObject({ logprobs: true, top_logprobs: 5 });
  });

  it('does not ask when turned off, for text tasks, for remote students, or with chain-of-thought', () => {
    const off = parseDistillationSpec({ ...nli, teacher_settings: { soft_labels: false } });
    const qa = parseDistillationSpec({ ...nli, task_type: 'qa', student: { kind: 'remote', baseModel: 'phi-4-mini' } });
    const remote = parseDistillationSpec({ ...nli, student: { kind: 'remote', baseModel: 'phi-4-mini' } });
    const cot = parseDistillationSpec({ ...nli, prompt_settings: { enable_chain_of_thought: true } });
    for (const spec of [off, qa, remote, cot]) {
      expect(wantsSoftLabels(spec)).toBe(false);
      expect(teacherRequest(spec, row)).not.toHaveProperty('logprobs');
    }
    expect(softLabelsUnavailable(qa)).toMatch(/text/);
    expect(softLabelsUnavailable(cot)).toMatch(/chain-of-thought/);
  });

  it('accepts temperature when soft labels apply', () => {
    const spec = parseDistillationSpec({ ...nli, hyperparameters: { temperature: 3 } });
    expect(spec.hyperparameters.temperature).toBe(3);
    expect(temperatureUnavailable(spec)).toBeUndefined();
  });

  it('refuses temperature with 400 naming it when the student learns hard labels only', () => {
    const cases = [
      { ...nli, teacher_settings: { soft_labels: false }, hyperparameters: { temperature: 2 } },
      { ...nli, prompt_settings: { enable_chain_of_thought: true }, hyperparameters: { temperature: 2 } },
      { ...nli, student: { kind: 'remote', baseModel: 'gpt-4o-mini' }, hyperparameters: { temperature: 2 } },
      { ...nli, task_type: 'summarization', student: { kind: 'remote', baseModel: 'gpt-4o-mini' }, hyperparameters: { temperature: 2 } },
    ];
    for (const input of cases) {
      const err = refusal(input);
      expect(err.status).toBe(400);
      expect(err.param).toBe('hyperparameters.temperature');
      expect(err.message).toMatch(/temperature/);
    }
  });

  it('refuses soft_labels: true where no distribution can reach the student', () => {
    const err = refusal({ ...nli, task_type: 'qa', student: { kind: 'remote', baseModel: 'gpt-4o-mini' }, teacher_settings: { soft_labels: true } });
    expect(err.status).toBe(400);
    expect(err.param).toBe('teacher_settings.soft_labels');
  });
});
