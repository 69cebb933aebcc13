import { z } from 'zod';
import { chatMessageSchema, messageText, type ChatMessage } from '../chat/chat-request-schema.js';
import { invalidRequest } from '../errors.js';
import { hash53 } from '../hash.js';
import { gateSchema } from './distill-settings.js';
import { isLabelTask, NLI_LABELS, TASK_TYPES, type TaskType } from './task-types.js';
import { softLabelsUnavailable, temperatureUnavailable } from './soft-labels.js';

// A dataset distillation job, as users of Azure ML's DistillationJob write it: a teacher, a
// student, training and validation JSONL, a task type, hyperparameters with the reference
// example's names, and the teacher's request settings with Azure ML's defaults (temperature 0.2,
// top_p 0.1, max_tokens 128). Rows are OpenAI chat format `{messages}` or `{prompt, ...}` (plus the
// usual NLI/QA/summarization column names), each with an optional gold label/answer/reference and
// a stable example id — the given `id`, or a hash of its prompt — which makes stage 1 idempotent.

const taskName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,100}$/, 'names are 1-101 of [a-zA-Z0-9._:-]');

/** Inline JSONL text (a string or `{ jsonl }`), or a file in the artifact store (`{ path }`). */
export const dataSourceSchema = z.union([
  z.string().min(1).transform((jsonl) => ({ jsonl })),
  z.object({ jsonl: z.string().min(1) }).strict(),
  z
    .object({ path: z.string().min(1).max(1024).regex(/^[^\\]*$/, 'artifact paths use forward slashes').refine((p) => !p.split('/').includes('..'), 'no .. segments') })
    .strict(),
]);
export type DataSource = { jsonl: string } | { path: string };

export const studentSpecSchema = z.discriminatedUnion('kind', [
  /** The in-process ONNX classifier (label task types only). */
  z.object({ kind: z.literal('onnx-classifier') }),
  /** A fine-tunable base model behind an OpenAI-compatible endpoint, e.g. Phi-4-mini. */
  z.object({
    kind: z.literal('remote'),
    /** Upstream name of the base model fine-tuning starts from. */
    baseModel: z.string().min(1),
    /** Configured model (an Azure OpenAI resource) that runs the fine-tuning and serves the result. */
    modelRef: z.string().min(1).optional(),
    /** Configured model serving the un-distilled base: the report's baseline. */
    baseline: z.string().min(1).optional(),
    /** Which service fine-tunes it: Azure OpenAI (default) or Azure ML serverless fine-tuning (Phi, Llama). */
    trainer: z.enum(['azure-openai', 'azure-ml']).optional(),
    /** Azure ML: name of the registered model (outputs.registered_model.name). */
    registeredModel: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/).optional(),
  }),
]);

export const hyperparametersSchema = z
  .object({
    learning_rate: z.number().positive().max(100).optional(),
    /** Remote fine-tuning services scale their own learning rate by this (Azure OpenAI, Azure ML). */
    learning_rate_multiplier: z.number().positive().max(10).optional(),
    batch_size: z.number().int().min(1).max(4096).optional(),
    num_epochs: z.number().int().min(1).max(1000).optional(),
    /** Softens the teacher's distribution in the distillation loss. */
    temperature: z.number().positive().max(100).optional(),
  })
  .strict();

export const inferenceParametersSchema = z
  .object({
    temperature: z.number().min(0).max(2).default(0.2),
    top_p: z.number().gt(0).max(1).default(0.1),
    max_tokens: z.number().int().min(1).max(32_768).default(128),
    frequency_penalty: z.number().min(-2).max(2).optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    stop: z.array(z.string().min(1)).max(4).optional(),
  })
  .strict();

export const distillationSpecSchema = z
  .object({
    /** Name of the task the student serves; a configured task, or a new runtime one made from this spec. */
    task: taskName.optional(),
    description: z.string().max(1000).default(''),
    /** A configured model id (see `models`). */
    teacher: z.string().min(1),
    student: studentSpecSchema.default({ kind: 'onnx-classifier' }),
    task_type: z.enum(TASK_TYPES),
    /** Label set of `classification` jobs (NLI's is fixed). */
    labels: z.array(z.string().min(1).max(200)).min(2).max(10_000).optional(),
    training_data: dataSourceSchema,
    validation_data: dataSourceSchema.optional(),
    hyperparameters: hyperparametersSchema.default({}),
    teacher_settings: z
      .object({
        inference_parameters: inferenceParametersSchema.default(inferenceParametersSchema.parse({})),
        /**
         * Label tasks taught to the in-process student (no chain-of-thought): ask for the first
         * token's top logprobs, so the student learns the teacher's distribution softened by
         * `hyperparameters.temperature`, not only its top label. On unless set to false (soft-labels.ts);
         * a teacher that answers without logprobs leaves the student on hard labels.
         */
        soft_labels: z.boolean().optional(),
        /**
         * Keep answers the teacher cut at `max_tokens` (`finish_reason: "length"`). Off by default: a
         * cut answer counts as a stage-1 failure (cause `truncated`), never as a silent success.
         */
        accept_truncated: z.boolean().default(false),
      })
      .strict()
      .default({ inference_parameters: inferenceParametersSchema.parse({}), accept_truncated: false }),
    prompt_settings: z
      .object({
        /**
         * Ask the teacher to reason first (not for conversation or summarization). With the default
         * `answer_line` form the reasoning is kept for generative students, stripped for label ones.
         */
        enable_chain_of_thought: z.boolean().default(false),
        /**
         * How a reasoned answer comes back: `answer_line` (reasoning, then a last "Answer: …" line) or
         * `json` (Azure ML's form, `{"reason": …, "answer": …}`: the answer alone is kept for the
         * dataset, a reply that is not such JSON is a failed example). Needs enable_chain_of_thought.
         */
        chain_of_thought_format: z.enum(['answer_line', 'json']).optional(),
        /**
         * Summarization: chain-of-density prompting (Azure ML's enable_chain_of_density). The teacher
         * writes increasingly entity-dense summaries of max_len_summary words as JSON; the last,
         * densest one is kept for the dataset.
         */
        enable_chain_of_density: z.boolean().default(false),
        /** Summarization: the length limit given to the teacher and checked by the metric (words). */
        max_len_summary: z.number().int().min(5).max(2000).default(60),
      })
      .strict()
      .default({ enable_chain_of_thought: false, enable_chain_of_density: false, max_len_summary: 60 }),
    /**
     * Teacher-generated data (Azure ML's data_generation), label tasks only: labels with fewer than
     * `min_examples_per_label` training rows (gold-labelled) get `count_per_label` new user messages
     * written by the teacher from `seeds_per_label` of their rows, deduplicated and decontaminated
     * against validation_data (teacher-data-generation.ts). `prompt` fills {label}, {count}, {examples}.
     */
    data_generation: z
      .object({
        min_examples_per_label: z.number().int().min(1).max(10_000).default(20),
        count_per_label: z.number().int().min(1).max(200).default(10),
        seeds_per_label: z.number().int().min(1).max(20).default(3),
        prompt: z.string().min(1).max(4000).optional(),
        decontamination_ngram: z.number().int().min(3).max(50).default(8),
      })
      .strict()
      .optional(),
    /** Under this share of examples with a usable teacher answer the job fails (Azure ML: 0.7). */
    min_success_ratio: z.number().min(0).max(1).default(0.7),
    /** Examples per stage-1 queue message. */
    chunk_size: z.number().int().min(1).max(10_000).default(250),
    /** Teacher calls in flight per chunk. */
    concurrency: z.number().int().min(1).max(128).default(8),
    /** Chunk-level retries of teacher calls the SDK gave up on (429 honours retry-after). */
    retry: z
      .object({
        max_attempts: z.number().int().min(1).max(20).default(4),
        base_delay_ms: z.number().int().min(0).max(60_000).default(500),
        max_delay_ms: z.number().int().min(0).max(600_000).default(60_000),
        /**
         * The job's own breaker: after this many failed calls in a row the chunk pauses all its
         * calls (base_delay_ms doubling, capped at max_delay_ms) instead of failing fast; a success
         * resets it. Failures keep their upstream cause.
         */
        pause_after_failures: z.number().int().min(1).max(1_000).default(5),
      })
      .strict()
      .default({ max_attempts: 4, base_delay_ms: 500, max_delay_ms: 60_000, pause_after_failures: 5 }),
    /** Generative tasks: a configured model that judges student vs teacher answers pairwise in the report. */
    judge: z.string().min(1).optional(),
    /** Test examples the judge sees (each judged twice, answers swapped). */
    judge_sample: z.number().int().min(1).max(10_000).default(200),
    /** Overrides of the task's promotion gate. */
    gate: gateSchema.partial().optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.student.kind === 'onnx-classifier' && !isLabelTask(spec.task_type)) {
      ctx.addIssue({ code: 'custom', path: ['student'], message: `an onnx-classifier student learns label tasks (nli, classification), not '${spec.task_type}'; use a remote student` });
    }
    // What a backend cannot apply is refused naming the field, never dropped.
    for (const issue of hyperparameterIssues(spec)) ctx.addIssue({ code: 'custom', path: ['hyperparameters', issue.field], message: issue.message });
    if (spec.hyperparameters.temperature !== undefined && !isAzureMLStudent(spec) && temperatureUnavailable(spec)) {
      ctx.addIssue({ code: 'custom', path: ['hyperparameters', 'temperature'], message: `cannot apply: ${temperatureUnavailable(spec)}` });
    }
    for (const issue of promptSettingIssues(spec)) ctx.addIssue({ code: 'custom', path: ['prompt_settings', issue.field], message: issue.message });
    if (spec.teacher_settings.soft_labels === true && softLabelsUnavailable(spec)) {
      ctx.addIssue({ code: 'custom', path: ['teacher_settings', 'soft_labels'], message: `cannot apply: ${softLabelsUnavailable(spec)}` });
    }
    if (spec.data_generation && !isLabelTask(spec.task_type)) {
      ctx.addIssue({ code: 'custom', path: ['data_generation'], message: `data generation writes messages per label; '${spec.task_type}' has no labels` });
    }
    if (spec.task_type === 'classification' && !spec.labels) {
      ctx.addIssue({ code: 'custom', path: ['labels'], message: 'classification jobs need their label set' });
    }
  });

type RuleInput = Pick<z.infer<typeof studentSpecSchema>, 'kind'> & { trainer?: string | undefined };
interface SpecRuleInput {
  task_type: TaskType;
  student: RuleInput;
  hyperparameters: z.infer<typeof hyperparametersSchema>;
  prompt_settings: { enable_chain_of_thought: boolean; chain_of_thought_format?: string | undefined; enable_chain_of_density: boolean };
}
type Issue = { field: string; message: string };

const isAzureMLStudent = (spec: Pick<SpecRuleInput, 'student'>) => spec.student.kind === 'remote' && spec.student.trainer === 'azure-ml';

/** Hyperparameters the student's trainer cannot apply (fine-tuning services take their own set). */
function hyperparameterIssues(spec: SpecRuleInput): Issue[] {
  const hp = spec.hyperparameters;
  const issues: Issue[] = [];
  if (spec.student.kind === 'onnx-classifier') {
    if (hp.learning_rate_multiplier !== undefined) issues.push({ field: 'learning_rate_multiplier', message: 'the in-process student cannot apply learning_rate_multiplier (a fine-tuning service\'s setting); use learning_rate' });
    return issues;
  }
  const service = isAzureMLStudent(spec) ? 'Azure ML serverless fine-tuning' : 'Azure OpenAI fine-tuning';
  // Fine-tuning services train on the teacher's text with their own schedule.
  for (const k of isAzureMLStudent(spec) ? (['learning_rate', 'temperature'] as const) : (['learning_rate'] as const)) {
    if (hp[k] !== undefined) issues.push({ field: k, message: `${service} cannot apply ${k}; it takes num_epochs, batch_size and learning_rate_multiplier` });
  }
  if (hp.num_epochs !== undefined && hp.num_epochs > 50) issues.push({ field: 'num_epochs', message: `${service} takes at most 50 epochs` });
  if (hp.batch_size !== undefined && hp.batch_size > 256) issues.push({ field: 'batch_size', message: `${service} takes a batch size of at most 256` });
  return issues;
}

/** Prompt settings the task type cannot use (Azure ML's rules, and what Distillery's prompts do). */
function promptSettingIssues(spec: SpecRuleInput): Issue[] {
  const p = spec.prompt_settings;
  const issues: Issue[] = [];
  if (p.enable_chain_of_thought && spec.task_type === 'conversation') issues.push({ field: 'enable_chain_of_thought', message: 'chain-of-thought is not supported for conversation tasks: a conversation is answered as it is' });
  if (p.enable_chain_of_thought && spec.task_type === 'summarization') issues.push({ field: 'enable_chain_of_thought', message: 'summaries are not reasoned out; use enable_chain_of_density' });
  if (p.chain_of_thought_format !== undefined && !p.enable_chain_of_thought) issues.push({ field: 'chain_of_thought_format', message: 'applies only with enable_chain_of_thought: true' });
  if (p.enable_chain_of_density && spec.task_type !== 'summarization') issues.push({ field: 'enable_chain_of_density', message: `chain-of-density applies to summarization only, not '${spec.task_type}'` });
  return issues;
}

export type DistillationSpec = z.infer<typeof distillationSpecSchema>;
export type DistillationSpecInput = z.input<typeof distillationSpecSchema>;

/** Validates a job spec; bad input is a 400 DistilleryError naming the field. */
export function parseDistillationSpec(input: unknown): DistillationSpec {
  const parsed = distillationSpecSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || null;
    throw invalidRequest(`Invalid distillation spec: ${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`, path, 'invalid_distillation_spec');
  }
  return parsed.data;
}

/** The label set of a label task, undefined for generative ones. */
export function labelsOf(spec: Pick<DistillationSpec, 'task_type' | 'labels'>): string[] | undefined {
  if (spec.task_type === 'nli') return spec.labels ?? [...NLI_LABELS];
  if (spec.task_type === 'classification') return spec.labels;
  return undefined;
}

/** The task the student is registered under: the spec's, else one per task type. */
export const taskNameOf = (spec: Pick<DistillationSpec, 'task' | 'task_type'>) => spec.task ?? `distill-${spec.task_type}`;

// --- rows ---------------------------------------------------------------------------------------

export type SourceSplit = 'train' | 'validation';

export interface DatasetRow {
  /** Stable example id: the row's `id`, or `h` + a hash of its prompt. */
  id: string;
  split: SourceSplit;
  /** The input conversation (a trailing assistant answer is the reference, not input). */
  messages: ChatMessage[];
  /** Gold label / answer / reference, when the row has one. */
  reference?: string;
}

export interface ParsedRows {
  rows: DatasetRow[];
  /** Rows dropped because an earlier row had the same prompt (within or across splits). */
  duplicates: number;
}

const MNLI_LABELS: Record<number, string> = { 0: 'entailment', 1: 'neutral', 2: 'contradiction' };

const rowSchema = z
  .object({
    id: z.union([z.string().min(1).max(200), z.number().int()]).optional(),
    messages: z.array(chatMessageSchema).min(1).max(2048).optional(),
    prompt: z.string().min(1).optional(),
    premise: z.string().optional(),
    hypothesis: z.string().optional(),
    question: z.string().optional(),
    context: z.string().optional(),
    document: z.string().optional(),
    text: z.string().optional(),
    label: z.union([z.string(), z.number()]).optional(),
    answer: z.union([z.string(), z.number()]).optional(),
    reference: z.string().optional(),
    summary: z.string().optional(),
  })
  .passthrough();

function inputOf(row: z.infer<typeof rowSchema>, taskType: TaskType): { messages: ChatMessage[]; reference?: string } | string {
  if (row.messages) {
    const messages = [...row.messages];
    let reference: string | undefined;
    if (messages.length > 1 && messages.at(-1)!.role === 'assistant') reference = messageText(messages.pop()!);
    if (!messages.some((m) => m.role === 'user')) return 'messages must hold a user message';
    return { messages, ...(reference !== undefined ? { reference } : {}) };
  }
  let prompt: string | undefined = row.prompt;
  if (prompt === undefined && row.premise !== undefined && row.hypothesis !== undefined) prompt = `Premise: ${row.premise}\nHypothesis: ${row.hypothesis}`;
  if (prompt === undefined && row.question !== undefined) prompt = row.context ? `Context: ${row.context}\nQuestion: ${row.question}` : row.question;
  if (prompt === undefined && (row.document ?? row.text) !== undefined) prompt = (row.document ?? row.text)!;
  if (prompt === undefined || prompt.trim() === '') {
    return `a row needs "messages", "prompt"${taskType === 'nli' ? ', "premise" and "hypothesis"' : ''}${taskType === 'qa' ? ', "question"' : ''}${taskType === 'summarization' ? ', "document"' : ''}`;
  }
  return { messages: [{ role: 'user', content: prompt }] };
}

function referenceOf(row: z.infer<typeof rowSchema>, taskType: TaskType): string | undefined {
  const gold = row.label ?? row.answer ?? row.reference ?? row.summary;
  if (gold === undefined) return undefined;
  // MNLI/SNLI ship labels as 0/1/2; -1 marks "no gold label".
  if (taskType === 'nli' && typeof gold === 'number') return MNLI_LABELS[gold];
  return String(gold);
}

/** The normalized prompt that decides duplicate rows and hashed ids. */
export function rowKey(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${m.role}:${messageText(m).replace(/\s+/g, ' ').trim()}`).join('\n');
}

/**
 * Parses one JSONL file of a split. Any malformed row is a 400 naming its line: a job never
 * starts on half a dataset. `seen` carries ids and prompts across splits (training first), so a
 * validation prompt that is also a training prompt is dropped instead of leaking.
 */
export function parseDatasetRows(
  jsonl: string,
  split: SourceSplit,
  taskType: TaskType,
  seen: { ids: Set<string>; prompts: Set<string> } = { ids: new Set(), prompts: new Set() },
): ParsedRows {
  const rows: DatasetRow[] = [];
  let duplicates = 0;
  const param = split === 'train' ? 'training_data' : 'validation_data';
  const lines = jsonl.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw invalidRequest(`${param} line ${i + 1}: not valid JSON.`, param, 'invalid_dataset_row');
    }
    const parsed = rowSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalidRequest(`${param} line ${i + 1}: ${issue?.path.join('.') || 'row'}: ${issue?.message ?? 'invalid'}`, param, 'invalid_dataset_row');
    }
    const input = inputOf(parsed.data, taskType);
    if (typeof input === 'string') throw invalidRequest(`${param} line ${i + 1}: ${input}.`, param, 'invalid_dataset_row');
    const key = rowKey(input.messages);
    const givenId = parsed.data.id === undefined ? undefined : String(parsed.data.id);
    if (givenId !== undefined && !/^[\w.-]{1,200}$/.test(givenId)) {
      throw invalidRequest(`${param} line ${i + 1}: ids are 1-200 of [A-Za-z0-9_.-].`, param, 'invalid_dataset_row');
    }
    if (givenId !== undefined && seen.ids.has(givenId)) {
      throw invalidRequest(`${param} line ${i + 1}: duplicate id '${givenId}'.`, param, 'invalid_dataset_row');
    }
    if (seen.prompts.has(key)) {
      duplicates++;
      continue;
    }
    const id = givenId ?? `h${hash53(key)}`;
    if (seen.ids.has(id)) {
      duplicates++;
      continue;
    }
    seen.ids.add(id);
    seen.prompts.add(key);
    const reference = referenceOf(parsed.data, taskType) ?? input.reference;
    rows.push({ id, split, messages: input.messages, ...(reference !== undefined ? { reference } : {}) });
  }
  return { rows, duplicates };
}
