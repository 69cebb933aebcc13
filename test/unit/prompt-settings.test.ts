import { describe, expect, it } from 'vitest';
import { mapAzureMLSpec } from '../../src/core/distill/azure-ml-spec.js';
import { parseDistillationSpec, type DatasetRow } from '../../src/core/distill/distillation-spec.js';
import { teacherAnswerText, teacherRequest, trainingMessages } from '../../src/core/distill/teacher-request.js';
import { DistilleryError } from '../../src/core/errors.js';

// #18: chain-of-density for summaries and chain-of-thought as JSON {reason, answer} in the stage-1
// teacher request, the answer read out for the dataset; prompt settings and hyperparameters a task
// or a backend cannot apply refused with a 400 naming the field, never dropped.

const article = 'Article: The city council of Springfield approved a new bridge over the river on Monday.';
const summarization = { teacher: 't', task_type: 'summarization', student: { kind: 'remote', baseModel: 'Phi-4-mini-instruct', trainer: 'azure-ml' }, training_data: 'x' };
const nli = { teacher: 't', task_type: 'nli', training_data: 'x' };
const userRow: DatasetRow = { id: 'r1', split: 'train', messages: [{ role: 'user', content: article }] };
const systemRow: DatasetRow = { id: 'r2', split: 'train', messages: [{ role: 'system', content: 'You summarize news.' }, { role: 'user', content: article }] };
const system = (messages: readonly { role: string; content?: unknown }[]) => String(messages.find((m) => m.role === 'system')?.content);

function refused(input: unknown): DistilleryError {
  try {
    parseDistillationSpec(input);
  } catch (err) {
    if (err instanceof DistilleryError) return err;
    throw err;
  }
  throw new Error('spec was accepted');
}

describe('chain-of-density', () => {
  const spec = parseDistillationSpec({ ...summarization, prompt_settings: { enable_chain_of_density: true, max_len_summary: 80 } });

  it('asks the teacher for ever denser summaries of max_len_summary words as JSON, also under a row\'s own system message', () => {
    for (const row of [userRow, systemRow]) {
      const sent = system(teacherRequest(spec, row).messages);
      expect(sent).toMatch(/chain of density/);
      expect(sent).toMatch(/at most 80 words/);
      expect(sent).toMatch(/"denser_summary"/);
    }
    expect(system(teacherRequest(spec, systemRow).messages)).toMatch(/^You summarize news\.\n\n/);
  });

  it('keeps the prompt without the JSON instruction for the dataset', () => {
    expect(system(trainingMessages(spec, userRow))).toBe('Summarize the text in at most 80 words.');
    expect(trainingMessages(spec, systemRow)).toEqual(systemRow.messages);
  });

  it('reads the last, densest summary out of the reply (fenced or not); none is null', () => {
    const steps = [
      { missing_entities: ['Springfield'], denser_summary: 'A council approved something.' },
      { Missing_Entities: ['bridge'], Denser_Summary: 'Springfield council approved a river bridge Monday.' },
    ];
    expect(teacherAnswerText(spec, JSON.stringify(steps))).toBe('Springfield council approved a river bridge Monday.');
    expect(teacherAnswerText(spec, `\`\`\`json\n${JSON.stringify({ summaries_per_step: steps })}\n\`\`\``)).toBe('Springfield council approved a river bridge Monday.');
    expect(teacherAnswerText(spec, 'Springfield approved a bridge.')).toBeNull();
    expect(teacherAnswerText(spec, '[{"missing_entities": []}]')).toBeNull();
  });
});

describe('chain-of-thought', () => {
  it('as JSON {reason, answer}: the answer alone is kept, under the prompt without the instruction', () => {
    const spec = parseDistillationSpec({ ...nli, prompt_settings: { enable_chain_of_thought: true, chain_of_thought_format: 'json' } });
    const sent = system(teacherRequest(spec, userRow).messages);
    expect(sent).toMatch(/\{"reason": "<your reasoning>", "answer": "<exactly one label>"\}/);
    expect(system(trainingMessages(spec, userRow))).not.toMatch(/reason/);
    expect(teacherAnswerText(spec, '{"reason": "Sleeping is not running.", "answer": "contradiction"}')).toBe('contradiction');
    expect(teacherAnswerText(spec, 'contradiction')).toBeNull();
    const math = parseDistillationSpec({ ...nli, task_type: 'math', student: { kind: 'remote', baseModel: 'phi' }, prompt_settings: { enable_chain_of_thought: true, chain_of_thought_format: 'json' } });
    expect(system(teacherRequest(math, userRow).messages)).not.toMatch(/####/);
    expect(teacherAnswerText(math, '{"reason": "3 + 4", "answer": 7}')).toBe('7');
  });

  it('as an answer line reaches the teacher under a row\'s own system message too (it was dropped there)', () => {
    const spec = parseDistillationSpec({ ...nli, prompt_settings: { enable_chain_of_thought: true } });
    expect(system(teacherRequest(spec, systemRow).messages)).toMatch(/^You summarize news\.\n\nThink step by step[\s\S]*"Answer: <answer>"/);
    expect(system(teacherRequest(spec, userRow).messages)).toMatch(/contradiction\. Think step by step/);
    expect(teacherAnswerText(spec, 'reasoning\nAnswer: neutral')).toBe('reasoning\nAnswer: neutral');
  });
});

describe('settings a task or a backend cannot apply are refused naming the field', () => {
  const cases: [unknown, string][] = [
    [{ ...summarization, task_type: 'conversation', prompt_settings: { enable_chain_of_thought: true } }, 'prompt_settings.enable_chain_of_thought'],
    [{ ...summarization, prompt_settings: { enable_chain_of_thought: true } }, 'prompt_settings.enable_chain_of_thought'],
    [{ ...summarization, task_type: 'qa', prompt_settings: { enable_chain_of_density: true } }, 'prompt_settings.enable_chain_of_density'],
    [{ ...nli, prompt_settings: { chain_of_thought_format: 'json' } }, 'prompt_settings.chain_of_thought_format'],
    // Azure OpenAI fine-tuning: learning_rate was silently dropped; over-large values were clamped.
    [{ ...nli, task_type: 'qa', student: { kind: 'remote', baseModel: 'gpt-4o-mini' }, hyperparameters: { learning_rate: 2e-5 } }, 'hyperparameters.learning_rate'],
    [{ ...nli, task_type: 'qa', student: { kind: 'remote', baseModel: 'gpt-4o-mini' }, hyperparameters: { num_epochs: 80 } }, 'hyperparameters.num_epochs'],
    [{ ...summarization, hyperparameters: { batch_size: 512 } }, 'hyperparameters.batch_size'],
    // The in-process student has no service learning rate to scale.
    [{ ...nli, hyperparameters: { learning_rate_multiplier: 0.5 } }, 'hyperparameters.learning_rate_multiplier'],
  ];
  for (const [input, param] of cases) {
    it(param, () => {
      const err = refused(input);
      expect(err.status).toBe(400);
      expect(err.param).toBe(param);
    });
  }
});

describe('Azure ML prompt settings', () => {
  const base = {
    type: 'distillation',
    data_generation_task_type: 'summarization',
    teacher_model_endpoint_connection: { type: 'serverless', name: 'DeepSeek-V3' },
    student_model: 'Phi-4-mini-instruct',
    training_data: { type: 'uri_file', path: './train.jsonl' },
  };
  const map = (o: Record<string, unknown>) => parseDistillationSpec(mapAzureMLSpec(o, { uploadPrefix: 'u/' }).spec);

  it('enable_chain_of_density with max_len_summary is applied, not refused', () => {
    expect(map({ ...base, prompt_settings: { enable_chain_of_density: true, max_len_summary: 80 } }).prompt_settings).toMatchObject({ enable_chain_of_density: true, max_len_summary: 80 });
  });

  it("enable_chain_of_thought is Azure ML's JSON reason + answer", () => {
    expect(map({ ...base, data_generation_task_type: 'math', prompt_settings: { enable_chain_of_thought: 'true' } }).prompt_settings).toMatchObject({ enable_chain_of_thought: true, chain_of_thought_format: 'json' });
  });

  it('takes a local file the CLI sent inline with its uri_file input', () => {
    expect(map({ ...base, training_data: { type: 'uri_file', path: './train.jsonl', jsonl: '{"prompt":"a"}\n' } }).training_data).toEqual({ jsonl: '{"prompt":"a"}\n' });
  });
});
