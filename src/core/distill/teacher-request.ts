import type { ChatModelRequest } from '../chat/chat-model-types.js';
import type { ChatMessage } from '../chat/chat-request-schema.js';
import { labelsOf, type DatasetRow, type DistillationSpec } from './distillation-spec.js';
import { wantsSoftLabels } from './soft-labels.js';
import { COT_SUFFIX, isLabelTask, taskTypeSettings } from './task-types.js';

// What stage 1 asks the teacher for one row of a spec (the chunk worker, and the preflight's
// sample inference, which must ask exactly the same), what the dataset keeps of the exchange, and
// how the answer is read out of a structured reply. Two prompt settings ask for JSON, as Azure
// ML's distillation does: chain-of-thought as `{"reason", "answer"}` and chain-of-density
// summaries (Adams et al., 2023) as a list of ever denser summaries. From those the dataset keeps
// the answer (the last, densest summary) under the prompt without the format instruction, so the
// student learns to answer, not to write JSON. A row's own system message gets the instruction
// appended: a setting is never lost because the data brought its own prompt.

/** Chain-of-density rounds, as in the paper and Azure ML. */
export const DENSITY_STEPS = 5;

type PromptSettings = DistillationSpec['prompt_settings'];
type PromptSpec = Pick<DistillationSpec, 'task_type' | 'labels' | 'prompt_settings'>;

const jsonCoT = (s: PromptSettings) => s.enable_chain_of_thought && s.chain_of_thought_format === 'json';
/** Whether the teacher replies in JSON that stage 1 reads the answer out of. */
export const isStructuredReply = (spec: PromptSpec) => jsonCoT(spec.prompt_settings) || spec.prompt_settings.enable_chain_of_density;

function answerHint(spec: PromptSpec): string {
  if (isLabelTask(spec.task_type)) return 'exactly one label';
  if (spec.task_type === 'math') return 'the final number only';
  return 'the answer only';
}

function densityInstruction(maxWords: number): string {
  return (
    `Use chain of density: write ${DENSITY_STEPS} summaries of the text, each of at most ${maxWords} words and of about the same length. ` +
    'The first names only a few main entities; each next one keeps every entity of the one before and adds 1-3 informative entities still missing ' +
    '(specific, faithful to the text), making room by fusing and compressing. ' +
    `Reply with JSON only, without code fences: a list of ${DENSITY_STEPS} objects {"missing_entities": [<entities added>], "denser_summary": "<the summary>"}.`
  );
}

/** The format instruction a prompt setting adds to the system prompt ('' for none). */
function formatInstruction(spec: PromptSpec): string {
  const p = spec.prompt_settings;
  if (p.enable_chain_of_density) return densityInstruction(p.max_len_summary);
  if (jsonCoT(p)) return `Think step by step. Reply with JSON only, without code fences: {"reason": "<your reasoning>", "answer": "<${answerHint(spec)}>"}.`;
  // Math is always reasoned out, ending in '#### <number>'.
  if (p.enable_chain_of_thought) return spec.task_type === 'math' ? '' : COT_SUFFIX.trim();
  return '';
}

/** The task type's system prompt without any format instruction (math: the number alone when the reply is JSON). */
function basePrompt(spec: PromptSpec): string {
  const labels = labelsOf(spec);
  if (spec.task_type === 'math' && isStructuredReply(spec)) return 'Solve the math problem. Give the final numeric answer only.';
  return taskTypeSettings(spec.task_type, { ...(labels ? { labels } : {}), maxSummaryWords: spec.prompt_settings.max_len_summary }).systemPrompt;
}

const isSystem = (m: ChatMessage) => m.role === 'system' || m.role === 'developer';

/** The row's conversation with `instruction` appended to its own system message, or under `fallback`. */
function withSystem(row: DatasetRow, fallback: string, instruction: string): ChatMessage[] {
  const at = row.messages.findIndex(isSystem);
  if (at < 0) return [{ role: 'system', content: instruction ? `${fallback} ${instruction}` : fallback }, ...row.messages];
  if (!instruction) return row.messages;
  const own = row.messages[at]!;
  if (typeof own.content === 'string') return row.messages.map((m, i) => (i === at ? ({ ...own, content: `${own.content}\n\n${instruction}` } as ChatMessage) : m));
  return [...row.messages.slice(0, at + 1), { role: 'system', content: instruction }, ...row.messages.slice(at + 1)];
}

/** The messages the teacher is sent for a row. */
export function teacherMessages(spec: PromptSpec, row: DatasetRow): ChatMessage[] {
  return withSystem(row, basePrompt(spec), formatInstruction(spec));
}

/**
 * The conversation the dataset keeps for a row: what the teacher was sent, except that a JSON
 * format instruction is left out (the dataset keeps the answer read out of the JSON).
 */
export function trainingMessages(spec: PromptSpec, row: DatasetRow): ChatMessage[] {
  return isStructuredReply(spec) ? withSystem(row, basePrompt(spec), '') : teacherMessages(spec, row);
}

export function teacherRequest(spec: DistillationSpec, row: DatasetRow): ChatModelRequest {
  const p = spec.teacher_settings.inference_parameters;
  const soft = wantsSoftLabels(spec);
  return {
    messages: teacherMessages(spec, row),
    ...(soft ? { logprobs: true, top_logprobs: 5 } : {}),
    temperature: p.temperature,
    top_p: p.top_p,
    max_tokens: p.max_tokens,
    ...(p.frequency_penalty !== undefined ? { frequency_penalty: p.frequency_penalty } : {}),
    ...(p.presence_penalty !== undefined ? { presence_penalty: p.presence_penalty } : {}),
    ...(p.stop ? { stop: p.stop } : {}),
  } as ChatModelRequest;
}

/** JSON in a reply, tolerating a code fence around it (teachers add one though told not to). */
function parseJsonReply(text: string): unknown {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  try {
    return JSON.parse(fenced ? fenced[1]! : text.trim());
  } catch {
    return undefined;
  }
}

const field = (o: unknown, name: string): unknown => {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const key = Object.keys(o).find((k) => k.trim().toLowerCase() === name);
  return key === undefined ? undefined : (o as Record<string, unknown>)[key];
};

/** The last non-empty denser_summary of a chain-of-density reply (a list, or an object holding one). */
function densestSummary(value: unknown): string | null {
  const list = Array.isArray(value) ? value : Object.values((value ?? {}) as object).find(Array.isArray);
  if (!Array.isArray(list)) return null;
  for (let i = list.length - 1; i >= 0; i--) {
    const s = field(list[i], 'denser_summary');
    if (typeof s === 'string' && s.trim()) return s.trim();
  }
  return null;
}

/**
 * The answer inside a teacher's reply: the reply itself, or for a JSON prompt setting the `answer`
 * of a chain-of-thought reply / the densest summary of a chain-of-density one. Null when a JSON
 * reply holds none: the example fails (`unusable_answer`) rather than training on malformed text.
 */
export function teacherAnswerText(spec: PromptSpec, text: string): string | null {
  if (!isStructuredReply(spec)) return text;
  const value = parseJsonReply(text);
  if (spec.prompt_settings.enable_chain_of_density) return densestSummary(value);
  const answer = field(value, 'answer');
  return typeof answer === 'string' && answer.trim() ? answer.trim() : typeof answer === 'number' && Number.isFinite(answer) ? String(answer) : null;
}
