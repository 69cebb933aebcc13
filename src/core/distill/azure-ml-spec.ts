import { invalidRequest } from '../errors.js';
import type { DatasetRow, DistillationSpecInput } from './distillation-spec.js';
import type { TaskType } from './task-types.js';

// Azure ML's distillation job, as azure-ai-ml's `DistillationJob` and the azureml-examples YAML
// files write it (`type: distillation`, `teacher_model_endpoint_connection`, `student_model`,
// string hyperparameters…), mapped onto Distillery's spec so such a file is accepted as it is.
// What Distillery cannot honour is a 400 naming the field, never dropped: data generation of new
// prompts (#15), data assets or URLs Distillery cannot read. Chain-of-thought becomes Azure ML's
// JSON form (reason + answer), chain-of-density Distillery's own (teacher-request.ts). Fields
// that only steer Azure ML's own compute (`resources`, the job `name`) are reported back in the
// job's detail as not used. Azure ML's validation rules come along: ≥ 65 training records,
// message-role order, chain-of-thought refused for conversation.

/** The catalog students Azure ML fine-tunes serverless, by model name, with their registry. */
export const AZURE_ML_STUDENTS: Record<string, { registry: string; regions: string[] }> = {
  'Phi-4-mini-instruct': { registry: 'azureml', regions: ['eastus2', 'westus3', 'northcentralus', 'swedencentral'] },
  'Phi-3.5-mini-instruct': { registry: 'azureml', regions: ['eastus2', 'westus3', 'northcentralus', 'swedencentral'] },
  'Meta-Llama-3.1-8B-Instruct': { registry: 'azureml-meta', regions: ['westus3'] },
};

/** Azure ML refuses distillation data with fewer records than this. */
export const AZURE_ML_MIN_RECORDS = 65;

/**
 * The catalog student named by a model name or an `azureml://registries/<r>/models/<name>[/versions/<v>]`
 * id; `uri` is what the fine-tuning job takes. Undefined for anything else.
 */
export function azureMLStudentOf(model: string): { name: string; uri: string } | undefined {
  const m = /^azureml:\/\/registries\/([^/]+)\/models\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(model);
  const name = m ? m[2]! : model;
  const entry = Object.entries(AZURE_ML_STUDENTS).find(([n]) => n.toLowerCase() === name.toLowerCase());
  if (!entry || (m && m[1] !== entry[1].registry)) return undefined;
  const base = `azureml://registries/${entry[1].registry}/models/${entry[0]}`;
  return { name: entry[0], uri: m?.[3] ? `${base}/versions/${m[3]}` : base };
}

/** Whether a submitted body is Azure ML's shape rather than Distillery's. */
export function isAzureMLSpec(input: unknown): input is Record<string, unknown> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return false;
  const o = input as Record<string, unknown>;
  return o.type === 'distillation' || 'teacher_model_endpoint_connection' in o || 'data_generation_task_type' in o || 'student_model' in o;
}

const TASK_TYPES: Record<string, TaskType> = { nli: 'nli', nlu_qa: 'qa', conversation: 'conversation', math: 'math', summarization: 'summarization' };

const KNOWN = new Set([
  '$schema', 'type', 'name', 'display_name', 'description', 'experiment_name', 'tags', 'properties',
  'data_generation_type', 'data_generation_task_type', 'teacher_model_endpoint_connection', 'student_model',
  'training_data', 'validation_data', 'teacher_model_settings', 'prompt_settings', 'hyperparameters', 'resources', 'outputs', 'identity',
]);

export interface MappedAzureMLSpec {
  spec: DistillationSpecInput;
  /** Fields accepted but not used, for the job's detail (visible, never silent). */
  notUsed: string[];
}

const bad = (param: string, message: string) => invalidRequest(`Azure ML distillation spec: ${param}: ${message}`, param, 'invalid_distillation_spec');

function obj(v: unknown, param: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(param, 'must be an object');
  return v as Record<string, unknown>;
}

function str(v: unknown, param: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw bad(param, 'must be a non-empty string');
  return v;
}

/** Azure ML hyperparameters are strings ("0.2"); numbers are taken too. */
function num(v: unknown, param: string, integer: boolean): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw bad(param, `'${String(v)}' is not a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

function bool(v: unknown, param: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw bad(param, 'must be true or false');
}

/**
 * An Azure ML `uri_file` input as a Distillery data source: a relative path (the CLI's local file)
 * resolves in the submitter's upload folder of the artifact store; data assets and URLs are
 * refused, Distillery cannot read them.
 */
function dataSource(v: unknown, param: string, uploadPrefix: string): { path: string } | { jsonl: string } | undefined {
  const o = obj(v, param);
  if (!o) return undefined;
  if (o.type !== undefined && o.type !== 'uri_file') throw bad(`${param}.type`, `'${String(o.type)}' is not supported; use uri_file`);
  const path = str(o.path, `${param}.path`);
  if (!path) throw bad(`${param}.path`, 'is required');
  // The CLI sends a local file next to the YAML inline with its input (cli-spec-file.ts).
  if (o.jsonl !== undefined) return { jsonl: str(o.jsonl, `${param}.jsonl`)! };
  if (/^(azureml|https?|wasbs?|abfss?):/i.test(path)) throw bad(`${param}.path`, `'${path}' is a remote asset Distillery cannot read; copy the JSONL file to ${uploadPrefix} in the artifact store and name it relatively`);
  const rel = path.replace(/^(\.\/)+/, '');
  if (rel.startsWith('/') || rel.split('/').includes('..')) throw bad(`${param}.path`, 'must be relative, without .. segments');
  return { path: `${uploadPrefix}${rel}` };
}

function hyperparameters(v: unknown): Record<string, number> {
  const o = obj(v, 'hyperparameters') ?? {};
  const out: Record<string, number> = {};
  for (const [k, value] of Object.entries(o)) {
    const param = `hyperparameters.${k}`;
    if (k === 'n_epochs' || k === 'num_epochs') out.num_epochs = num(value, param, true);
    else if (k === 'batch_size') out.batch_size = num(value, param, true);
    else if (k === 'learning_rate_multiplier') out.learning_rate_multiplier = num(value, param, false);
    else throw bad(param, 'Azure ML serverless fine-tuning applies only n_epochs, batch_size and learning_rate_multiplier');
  }
  return out;
}

function teacherSettings(v: unknown) {
  const o = obj(v, 'teacher_model_settings') ?? {};
  for (const k of Object.keys(o)) if (k !== 'inference_parameters' && k !== 'endpoint_request_settings') throw bad(`teacher_model_settings.${k}`, 'unknown setting');
  const inference = obj(o.inference_parameters, 'teacher_model_settings.inference_parameters');
  const request = obj(o.endpoint_request_settings, 'teacher_model_settings.endpoint_request_settings') ?? {};
  const out: Partial<DistillationSpecInput> = {};
  if (inference) out.teacher_settings = { inference_parameters: inference as never };
  for (const [k, value] of Object.entries(request)) {
    const param = `teacher_model_settings.endpoint_request_settings.${k}`;
    if (k === 'request_batch_size') {
      // Azure ML sends this many requests at once (≤ 100): Distillery's calls in flight per chunk.
      const n = num(value, param, true);
      if (n > 100) throw bad(param, 'at most 100');
      out.concurrency = n;
    } else if (k === 'min_endpoint_success_ratio') {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n) || n < 0 || n > 1) throw bad(param, 'a ratio between 0 and 1');
      out.min_success_ratio = n;
    } else throw bad(param, 'unknown setting');
  }
  return out;
}

function promptSettings(v: unknown, taskType: TaskType) {
  const o = obj(v, 'prompt_settings') ?? {};
  const out: { enable_chain_of_thought?: boolean; chain_of_thought_format?: 'json'; enable_chain_of_density?: boolean; max_len_summary?: number } = {};
  for (const [k, value] of Object.entries(o)) {
    const param = `prompt_settings.${k}`;
    if (k === 'enable_chain_of_thought') {
      const on = bool(value, param);
      // Azure ML's rule: conversations are answered as they are, not reasoned out.
      if (on && taskType === 'conversation') throw bad(param, 'chain-of-thought is not supported for conversation tasks');
      // Azure ML's chain-of-thought is a JSON reply with the reasoning and the answer.
      if (on) Object.assign(out, { enable_chain_of_thought: true, chain_of_thought_format: 'json' });
      else if (on === false) out.enable_chain_of_thought = false;
    } else if (k === 'enable_chain_of_density') {
      const on = bool(value, param);
      if (on && taskType !== 'summarization') throw bad(param, 'chain-of-density applies to summarization only');
      if (on !== undefined) out.enable_chain_of_density = on;
    } else if (k === 'max_len_summary') {
      out.max_len_summary = num(value, param, true);
    } else throw bad(param, 'unknown setting');
  }
  return out;
}

/** The teacher: the configured model named like the endpoint connection (its key is never stored). */
function teacherOf(v: unknown, notUsed: string[]): string {
  const o = obj(v, 'teacher_model_endpoint_connection');
  if (!o) throw bad('teacher_model_endpoint_connection', 'is required');
  const type = o.type ?? 'serverless';
  if (type !== 'serverless' && type !== 'azure_openai' && type !== 'custom') throw bad('teacher_model_endpoint_connection.type', `'${String(type)}' is not supported`);
  const name = str(o.name, 'teacher_model_endpoint_connection.name');
  if (!name) throw bad('teacher_model_endpoint_connection.name', 'names the configured teacher model and is required');
  // Credentials never enter a job record: the configured model's settings authenticate.
  if (o.api_key !== undefined) notUsed.push('teacher_model_endpoint_connection.api_key (the configured model\'s credentials are used)');
  if (o.endpoint !== undefined) notUsed.push('teacher_model_endpoint_connection.endpoint (the configured model\'s URL is used)');
  return name;
}

/** Maps an Azure ML distillation job onto Distillery's spec, or throws a 400 naming the field. */
export function mapAzureMLSpec(input: Record<string, unknown>, options: { uploadPrefix: string }): MappedAzureMLSpec {
  for (const k of Object.keys(input)) if (!KNOWN.has(k)) throw bad(k, 'unknown field of an Azure ML distillation job');
  if (input.type !== undefined && input.type !== 'distillation') throw bad('type', `'${String(input.type)}' is not a distillation job`);
  const notUsed: string[] = [];
  const generation = input.data_generation_type ?? 'label_generation';
  if (generation !== 'label_generation') throw bad('data_generation_type', `'${String(generation)}' is not supported; Distillery generates labels for given prompts (label_generation)`);
  const rawType = str(input.data_generation_task_type, 'data_generation_task_type');
  const taskType = rawType ? TASK_TYPES[rawType.toLowerCase()] : undefined;
  if (!taskType) throw bad('data_generation_task_type', `one of ${Object.keys(TASK_TYPES).join(', ')}`);
  const studentModel = str(input.student_model, 'student_model');
  const student = studentModel ? azureMLStudentOf(studentModel) : undefined;
  if (!student) throw bad('student_model', `'${String(studentModel)}' is not a serverless fine-tuning student (${Object.keys(AZURE_ML_STUDENTS).join(', ')})`);
  const outputs = obj(input.outputs, 'outputs');
  const registered = obj(outputs?.registered_model, 'outputs.registered_model');
  if (registered?.type !== undefined && registered.type !== 'mlflow_model') throw bad('outputs.registered_model.type', 'must be mlflow_model');
  const registeredName = str(registered?.name, 'outputs.registered_model.name');
  const training = dataSource(input.training_data, 'training_data', options.uploadPrefix);
  if (!training) throw bad('training_data', 'is required');
  const validation = dataSource(input.validation_data, 'validation_data', options.uploadPrefix);
  const experiment = str(input.experiment_name, 'experiment_name');
  if (experiment !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,100}$/.test(experiment)) throw bad('experiment_name', 'names the Distillery task: 1-101 of [a-zA-Z0-9._:-]');
  if (input.resources !== undefined) notUsed.push('resources (stage 1 runs on Distillery\'s workers)');
  if (input.name !== undefined) notUsed.push('name (Distillery assigns job ids)');
  const description = str(input.description, 'description');
  const spec: DistillationSpecInput = {
    ...(experiment ? { task: experiment } : {}),
    ...(description ? { description: description.slice(0, 1000) } : {}),
    teacher: teacherOf(input.teacher_model_endpoint_connection, notUsed),
    task_type: taskType,
    student: { kind: 'remote', trainer: 'azure-ml', baseModel: student.uri, ...(registeredName ? { registeredModel: registeredName } : {}) },
    training_data: training,
    ...(validation ? { validation_data: validation } : {}),
    hyperparameters: hyperparameters(input.hyperparameters),
    prompt_settings: promptSettings(input.prompt_settings, taskType),
    ...teacherSettings(input.teacher_model_settings),
  };
  return { spec, notUsed };
}

/**
 * Azure ML's checks of the rows a job trains an Azure ML student on: enough records, and
 * messages in the order its chat fine-tuning takes (an optional system message first, then
 * user and assistant turns alternating, ending with the user turn the teacher answers).
 */
export function checkAzureMLRows(rows: readonly DatasetRow[]): void {
  const training = rows.filter((r) => r.split === 'train');
  if (training.length < AZURE_ML_MIN_RECORDS) {
    throw invalidRequest(`training_data: Azure ML needs at least ${AZURE_ML_MIN_RECORDS} records, got ${training.length}.`, 'training_data', 'too_few_records');
  }
  for (const r of rows) {
    const param = r.split === 'train' ? 'training_data' : 'validation_data';
    const roles = r.messages.map((m) => (m.role === 'developer' ? 'system' : m.role));
    const turns = roles[0] === 'system' ? roles.slice(1) : roles;
    const ok = turns.length > 0 && turns.every((role, i) => role === (i % 2 === 0 ? 'user' : 'assistant')) && turns.at(-1) === 'user';
    if (!ok) throw invalidRequest(`${param}: row '${r.id}': messages must be an optional system message, then user and assistant turns alternating, ending with a user turn (got ${roles.join(', ')}).`, param, 'invalid_message_roles');
  }
}
