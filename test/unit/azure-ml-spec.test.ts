import { describe, expect, it } from 'vitest';
import { azureMLStudentOf, isAzureMLSpec, mapAzureMLSpec } from '../../src/core/distill/azure-ml-spec.js';
import { parseDistillationSpec } from '../../src/core/distill/distillation-spec.js';
import { taskConfigFromSpec } from '../../src/core/distill/spec-to-task.js';
import { DistilleryError } from '../../src/core/errors.js';

// The azure-ai-ml distillation job shape mapped onto Distillery's spec (pure; the HTTP path and a
// whole job are in test/integration/azure-ml-distillation.test.ts).

// cli/foundation-models/system/distillation/summarization/distillation_summarization.yaml, as JSON.
const SUMMARIZATION = {
  type: 'distillation',
  name: 'Distillation-summarization-llama',
  description: 'Distill student model using a teacher model',
  experiment_name: 'Distillation-summarization',
  data_generation_type: 'label_generation',
  data_generation_task_type: 'summarization',
  training_data: { type: 'uri_file', path: './train_summarization.jsonl' },
  validation_data: { type: 'uri_file', path: './validation_summarization.jsonl' },
  teacher_model_endpoint_connection: { type: 'serverless', name: 'Meta-Llama-3-1-405B-Instruct-vkn', endpoint: 'https://x.westus3.models.ai.azure.com/chat/completions', api_key: 'EXAMPLE_API_KEY' },
  student_model: 'azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/2',
  outputs: { registered_model: { type: 'mlflow_model', name: 'llama-summarization-distilled' } },
  teacher_model_settings: { inference_parameters: { temperature: 0.8, max_tokens: 1024, top_p: 0.95 }, endpoint_request_settings: { request_batch_size: 10, min_endpoint_success_ratio: 0.7 } },
  prompt_settings: { enable_chain_of_density: true, max_len_summary: 80 },
  hyperparameters: { learning_rate_multiplier: '0.2', n_epochs: '5', batch_size: '2' },
  resources: { instance_type: 'Standard_D2_v2' },
};

const map = (o: Record<string, unknown>) => mapAzureMLSpec(o, { uploadPrefix: 'tenants/a/distillations/uploads/' });

describe('Azure ML distillation specs', () => {
  it('recognises the Azure ML shape and not Distillery\'s', () => {
    expect(isAzureMLSpec(SUMMARIZATION)).toBe(true);
    expect(isAzureMLSpec({ teacher: 't', task_type: 'math', training_data: 'x' })).toBe(false);
  });

  it('maps every field onto a spec Distillery validates, and lists what it does not use', () => {
    const { spec, notUsed } = map({ ...SUMMARIZATION, prompt_settings: { enable_chain_of_density: false, max_len_summary: 80 } });
    const parsed = parseDistillationSpec(spec);
    expect(parsed).toMatchObject({
      task: 'Distillation-summarization',
      teacher: 'Meta-Llama-3-1-405B-Instruct-vkn',
      task_type: 'summarization',
      student: { kind: 'remote', trainer: 'azure-ml', baseModel: 'azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/2', registeredModel: 'llama-summarization-distilled' },
      training_data: { path: 'tenants/a/distillations/uploads/train_summarization.jsonl' },
      hyperparameters: { num_epochs: 5, batch_size: 2, learning_rate_multiplier: 0.2 },
      prompt_settings: { max_len_summary: 80 },
      teacher_settings: { inference_parameters: { temperature: 0.8, max_tokens: 1024, top_p: 0.95 } },
      concurrency: 10,
      min_success_ratio: 0.7,
    });
    expect(JSON.stringify(parsed)).not.toContain('EXAMPLE_API_KEY');
    for (const field of ['teacher_model_endpoint_connection.api_key', 'teacher_model_endpoint_connection.endpoint', 'resources', 'name']) {
      expect(notUsed.some((n) => n.startsWith(`${field} (`)), field).toBe(true);
    }
    // The task it trains uses the azure-ml trainer with the YAML's hyperparameters.
    const task = taskConfigFromSpec(parsed);
    expect(task.distill.trainer).toBe('azure-ml');
    expect(task.distill.fineTuning).toMatchObject({ n_epochs: 5, batch_size: 2, learning_rate_multiplier: 0.2, registeredModel: 'llama-summarization-distilled' });
  });

  it('applies chain-of-density (the YAML unchanged) and refuses it for another task type', () => {
    expect(parseDistillationSpec(map(SUMMARIZATION).spec).prompt_settings).toMatchObject({ enable_chain_of_density: true, max_len_summary: 80 });
    expect(() => map({ ...SUMMARIZATION, data_generation_task_type: 'nlu_qa' })).toThrow(expect.objectContaining({ param: 'prompt_settings.enable_chain_of_density' }));
  });

  it('knows the catalog students by name or registry id, and nothing else', () => {
    expect(azureMLStudentOf('Phi-4-mini-instruct')).toEqual({ name: 'Phi-4-mini-instruct', uri: 'azureml://registries/azureml/models/Phi-4-mini-instruct' });
    expect(azureMLStudentOf('azureml://registries/azureml/models/Phi-3.5-mini-instruct/versions/6')?.uri).toBe('azureml://registries/azureml/models/Phi-3.5-mini-instruct/versions/6');
    expect(azureMLStudentOf('azureml://registries/azureml/models/Meta-Llama-3.1-8B-Instruct/versions/2')).toBeUndefined(); // wrong registry
    expect(azureMLStudentOf('gpt-4o-mini-2024-07-18')).toBeUndefined();
  });

  it('refuses learning_rate and temperature for an azure-ml student in Distillery\'s own shape', () => {
    for (const k of ['learning_rate', 'temperature']) {
      const input = { teacher: 't', task_type: 'conversation', student: { kind: 'remote', trainer: 'azure-ml', baseModel: 'Phi-4-mini-instruct' }, training_data: 'x', hyperparameters: { [k]: 0.5 } };
      expect(() => parseDistillationSpec(input)).toThrow(expect.objectContaining({ param: `hyperparameters.${k}` }));
    }
  });
});
