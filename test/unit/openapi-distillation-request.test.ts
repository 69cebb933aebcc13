import Ajv2020Module from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { isAzureMLSpec } from '../../src/core/distill/azure-ml-spec.js';
import { openApiDocument } from '../../src/http/openapi.js';

// Issue 18: POST /admin/distillations takes Distillery's spec or azure-ai-ml's DistillationJob as
// JSON; the OpenAPI document says so with a oneOf, and each shape matches exactly its own branch.

const Ajv2020 = (Ajv2020Module as unknown as { default?: typeof Ajv2020Module }).default ?? Ajv2020Module;
const ajv = new (Ajv2020 as unknown as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } })({ strict: false, allErrors: true });

// azureml-examples cli/foundation-models/system/distillation/conversation/distillation_conversation.yaml, as JSON.
const AZUREML_EXAMPLE = {
  type: 'distillation',
  name: 'Distillation-conversation-llama',
  description: 'Distill student model using a teacher model',
  experiment_name: 'Distillation-Conversation',
  data_generation_type: 'label_generation',
  data_generation_task_type: 'conversation',
  training_data: { type: 'uri_file', path: './train_conversation.jsonl' },
  validation_data: { type: 'uri_file', path: './validation_conversation.jsonl' },
  teacher_model_endpoint_connection: { type: 'serverless', name: 'Meta-Llama-3-1-405B-Instruct-vkn', endpoint: 'https://example.westus3.models.ai.azure.com/chat/completions', api_key: 'EXAMPLE_API_KEY' },
  student_model: 'azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/2',
  outputs: { registered_model: { type: 'mlflow_model', name: 'llama-conversation-distilled' } },
  teacher_model_settings: { inference_parameters: { temperature: 0.1, max_tokens: 100, top_p: 0.95 }, endpoint_request_settings: { request_batch_size: 10, min_endpoint_success_ratio: 0.7 } },
  hyperparameters: { learning_rate_multiplier: '0.2', n_epochs: '5', batch_size: '2' },
  resources: { instance_type: 'Standard_D2_v2' },
};

const DISTILLERY_SPEC = {
  task: 'support-assistant',
  teacher: 'DeepSeek-V3',
  task_type: 'conversation',
  student: { kind: 'remote', trainer: 'azure-ml', baseModel: 'Phi-4-mini-instruct' },
  training_data: { path: 'distillations/uploads/train.jsonl' },
  hyperparameters: { num_epochs: 3 },
};

type Schema = { oneOf: object[] };
const requestSchema = () => {
  const op = (openApiDocument().paths['/admin/distillations'] as { post: { requestBody: { content: Record<string, { schema: Schema }> } } }).post;
  return op.requestBody.content['application/json']!.schema;
};

describe('OpenAPI: the body of POST /admin/distillations', () => {
  it("is Distillery's spec or an azure-ai-ml DistillationJob (oneOf)", () => {
    const schema = requestSchema();
    expect(schema.oneOf).toHaveLength(2);
    const [distillery, azureML] = schema.oneOf.map((s) => ajv.compile(s));
    const whole = ajv.compile(schema);

    expect(isAzureMLSpec(AZUREML_EXAMPLE)).toBe(true);
    expect(azureML!(AZUREML_EXAMPLE), JSON.stringify(azureML!.errors)).toBe(true);
    expect(distillery!(AZUREML_EXAMPLE)).toBe(false);
    expect(whole(AZUREML_EXAMPLE)).toBe(true);

    expect(isAzureMLSpec(DISTILLERY_SPEC)).toBe(false);
    expect(distillery!(DISTILLERY_SPEC), JSON.stringify(distillery!.errors)).toBe(true);
    expect(azureML!(DISTILLERY_SPEC)).toBe(false);
    expect(whole(DISTILLERY_SPEC)).toBe(true);
  });

  it('describes what the route refuses: unknown Azure ML fields, data assets, hyperparameters outside the set', () => {
    const whole = ajv.compile(requestSchema());
    expect(whole({ ...AZUREML_EXAMPLE, compute: 'gpu-cluster' })).toBe(false);
    expect(whole({ ...AZUREML_EXAMPLE, hyperparameters: { learning_rate: '2e-5' } })).toBe(false);
    expect(whole({ ...AZUREML_EXAMPLE, training_data: { type: 'mltable', path: 'x' } })).toBe(false);
    expect(whole({ ...DISTILLERY_SPEC, unknown: 1 })).toBe(false);
  });
});
