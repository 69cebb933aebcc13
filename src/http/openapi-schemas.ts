// JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of what each route answers. They name the
// fields a client relies on and allow more (additionalProperties stays open): records grow
// without breaking generated clients.

type Schema = Record<string, unknown>;

const str = { type: 'string' };
const strOrNull = { type: ['string', 'null'] };
const int = { type: 'integer' };
const num = { type: 'number' };
const bool = { type: 'boolean' };
const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)): Schema => ({ type: 'object', required, properties });
export const listOf = (item: Schema, extra: Record<string, unknown> = {}): Schema =>
  obj({ object: { const: 'list' }, data: { type: 'array', items: item }, ...extra }, ['object', 'data', ...Object.keys(extra)]);

export const errorSchema = obj({ error: obj({ message: str, type: str, param: strOrNull, code: strOrNull }) });

const toolCallSchema = obj({ id: str, type: { const: 'function' }, function: obj({ name: str, arguments: { type: 'string', description: 'JSON' } }) });
const chatMessageSchema = obj({ role: { const: 'assistant' }, content: strOrNull, refusal: strOrNull, tool_calls: { type: 'array', items: toolCallSchema } }, ['role', 'content']);
const tokenLogprob = { token: str, logprob: num, bytes: { type: ['array', 'null'], items: int } };
const logprobsSchema = {
  type: ['object', 'null'],
  description: 'With logprobs: true. A classifier student answers one entry: its answer with the log-probability of its label, top_logprobs the top-k labels.',
  required: ['content'],
  properties: { content: { type: ['array', 'null'], items: obj({ ...tokenLogprob, top_logprobs: { type: 'array', items: obj(tokenLogprob) } }) }, refusal: { type: ['array', 'null'] } },
};

export const chatCompletionSchema = obj(
  {
    id: str,
    object: { const: 'chat.completion' },
    created: int,
    model: str,
    choices: {
      type: 'array',
      description: 'One choice, or n with n > 1 (generative arms; a task with a classifier student refuses n > 1).',
      items: obj({ index: int, message: chatMessageSchema, finish_reason: { enum: ['stop', 'length', 'tool_calls', 'content_filter', 'function_call'] }, logprobs: logprobsSchema }, ['index', 'message', 'finish_reason']),
    },
    usage: obj({ prompt_tokens: int, completion_tokens: int, total_tokens: int }),
  },
  ['id', 'object', 'created', 'model', 'choices'],
);

/** One `data:` event of a stream; the stream ends with `data: [DONE]`. */
export const chatChunkStreamSchema = { type: 'string', description: 'Server-sent events: `data: {chat.completion.chunk}` lines, then `data: [DONE]` (or an error object after the headers).' };

export const modelSchema = obj({ id: str, object: { const: 'model' }, created: int, owned_by: str, distillery: obj({ kind: str, teacher: str, student: strOrNull }, ['kind']) }, ['id', 'object', 'created', 'owned_by']);

export const taskSchemaView = obj({ name: str, teacher: str, routing: { type: 'object' }, distill: {} }, ['name', 'teacher', 'routing']);

export const jobSchema = obj({ object: str, id: str, task: str, kind: { enum: ['redistill', 'dataset'] }, state: str, createdAt: str }, ['id', 'task', 'kind', 'state']);
export const triggerResultSchema = obj({ created: bool, job: jobSchema });
export const distillationSchema = obj({ object: { const: 'distillation.job' }, id: str, task: str, status: str, stage1: {}, report: {}, gate: {} }, ['object', 'id', 'task', 'status']);
export const modelVersionSchema = obj({ task: str, version: int, state: str }, ['task', 'version', 'state']);

const armSummary = { type: ['object', 'null'] };
export const pairSummarySchema = obj({ object: { const: 'distillery.pair_summary' }, id: str, task: str, tenant: str, createdAt: str, servedArm: str, reason: str, verdict: {}, teacher: armSummary, student: armSummary }, ['object', 'id', 'task', 'tenant', 'createdAt', 'servedArm']);
export const pairPageSchema = listOf(pairSummarySchema, { has_more: bool, next_cursor: strOrNull, scanned: int });
export const pairDetailSchema = obj({ object: { const: 'distillery.pair' }, id: str, task: str, tenant: str, createdAt: str, request: { type: 'object' }, servedArm: str, feedback: {} }, ['object', 'id', 'task', 'tenant', 'createdAt', 'request', 'servedArm', 'feedback']);

export const onlineReportSchema = { type: 'object', description: 'format=json: the online report (per arm: traffic, agreement estimates with intervals, accuracy, latency, cost); md and text: the same as Markdown or a table.' };
export const trendsSchema = obj({ buckets: { type: 'array' } }, []);

const apiKeyView = { id: str, object: { const: 'api_key' }, tenant: str, scopes: { type: 'array', items: { enum: ['chat', 'admin', 'metrics'] } }, name: strOrNull, rate_per_second: { type: ['number', 'null'] }, created_at: str, last_used_at: strOrNull };
export const apiKeySchema = obj(apiKeyView);
export const createdApiKeySchema = obj({ ...apiKeyView, key: { type: 'string', description: 'The key, shown this once; only its SHA-256 is kept.' } });
export const deletedApiKeySchema = obj({ id: str, object: { const: 'api_key' }, deleted: { const: true } });
const tally = { requests: int, cost_usd: num, unpriced_calls: int };
export const apiKeyUsageSchema = obj({ object: { const: 'api_key.usage' }, key_id: str, since: str, until: str, ...tally, by_task: { type: 'object', additionalProperties: obj(tally) } });

export const healthSchema = obj({ status: { enum: ['ok', 'degraded'] } });
export const openApiSchema = obj({ openapi: str, info: { type: 'object' }, paths: { type: 'object' } });
export const htmlSchema = { type: 'string', description: 'HTML page' };
export const metricsSchema = { type: 'string', description: 'Prometheus text exposition format 0.0.4' };
export const jsonlSchema = { type: 'string', description: 'The file: JSON (manifest, report) or JSON Lines (examples, splits).' };

// POST /admin/distillations takes Distillery's spec or azure-ai-ml's DistillationJob (the
// azureml-examples YAML as JSON; core/distill/azure-ml-spec.ts maps it). The Azure ML shape is
// written out here: it is parsed by hand, field by field, so a 400 can name the field.
const positive = { type: ['string', 'number'], description: 'A positive number; Azure ML writes it as a string ("0.2").' };
const flag = { anyOf: [bool, { enum: ['true', 'false'] }] };
const uriFile = (what: string): Schema => ({
  type: 'object',
  required: ['path'],
  properties: { type: { const: 'uri_file' }, path: { type: 'string', description: `${what}: a relative path, read from distillations/uploads/ of your tenant's artifact namespace; azureml: assets and URLs are refused (400).` } },
});

export function azureMLDistillationJobSchema(inferenceParameters: Schema): Schema {
  return {
    title: 'azure-ai-ml DistillationJob',
    description:
      "azure-ai-ml's distillation job as JSON, recognised by `type: distillation` (or `teacher_model_endpoint_connection`, `student_model`, `data_generation_task_type`). Mapped onto Distillery's spec; a field Distillery cannot honour is a 400 naming it, fields accepted but not used are listed in the job's detail (docs/fine-tuning.md).",
    type: 'object',
    required: ['teacher_model_endpoint_connection', 'student_model', 'data_generation_task_type', 'training_data'],
    additionalProperties: false,
    properties: {
      $schema: str,
      type: { const: 'distillation' },
      name: { type: 'string', description: 'Not used: Distillery assigns job ids.' },
      display_name: str,
      description: str,
      experiment_name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,100}$', description: 'The Distillery task the student serves.' },
      tags: { type: 'object' },
      properties: { type: 'object' },
      data_generation_type: { type: 'string', default: 'label_generation', description: 'label_generation: the teacher answers the given prompts.' },
      data_generation_task_type: { enum: ['NLI', 'NLU_QA', 'CONVERSATION', 'MATH', 'SUMMARIZATION', 'nli', 'nlu_qa', 'conversation', 'math', 'summarization'] },
      teacher_model_endpoint_connection: {
        type: 'object',
        required: ['name'],
        properties: {
          type: { enum: ['serverless', 'azure_openai', 'custom'] },
          name: { type: 'string', description: 'The configured teacher model of this name.' },
          endpoint: { type: 'string', description: "Not used: the configured model's URL is." },
          api_key: { type: 'string', description: "Not used and never stored: the configured model's credentials are." },
        },
      },
      student_model: { type: 'string', description: 'azureml://registries/<registry>/models/<name>[/versions/<v>] or a name: Phi-4-mini-instruct, Phi-3.5-mini-instruct, Meta-Llama-3.1-8B-Instruct.' },
      training_data: uriFile('Training JSONL'),
      validation_data: uriFile('Validation JSONL'),
      teacher_model_settings: {
        type: 'object',
        additionalProperties: false,
        properties: {
          inference_parameters: inferenceParameters,
          endpoint_request_settings: {
            type: 'object',
            additionalProperties: false,
            properties: { request_batch_size: { ...positive, description: 'Teacher calls in flight, at most 100.' }, min_endpoint_success_ratio: { type: ['number', 'string'], description: '0..1 (default 0.7).' } },
          },
        },
      },
      prompt_settings: {
        type: 'object',
        additionalProperties: false,
        properties: { enable_chain_of_thought: flag, enable_chain_of_density: flag, max_len_summary: positive },
      },
      hyperparameters: {
        type: 'object',
        additionalProperties: false,
        description: 'What Azure ML serverless fine-tuning applies; anything else is a 400 naming it.',
        properties: { n_epochs: positive, num_epochs: positive, batch_size: positive, learning_rate_multiplier: positive },
      },
      resources: { type: 'object', description: "Not used: stage 1 runs on Distillery's workers." },
      outputs: { type: 'object', properties: { registered_model: { type: 'object', properties: { type: { const: 'mlflow_model' }, name: str } } } },
      identity: { type: 'object' },
    },
  };
}

/** The request body of POST /admin/distillations: exactly one of the two shapes. */
export function distillationRequestSchema(distillerySpec: Schema, azureMLJob: Schema): Schema {
  const { $schema: _dialect, ...spec } = distillerySpec; // the document's dialect applies inside it
  return {
    description: "A distillation job: Distillery's spec (docs/distillation-jobs.md), or azure-ai-ml's DistillationJob as JSON.",
    oneOf: [{ title: 'Distillery distillation spec', ...spec }, azureMLJob],
  };
}
