import type { FinishReason, ChatModelRequest, TokenLogprob, ToolCall } from './chat-model-types.js';
import type { CountTokens } from './chat-token-count.js';
import { invalidRequest } from '../errors.js';

// What a classifier (a student that answers one label of a fixed set) does with the chat options
// an LLM honours. Honoured: response_format (the label as `{"label": …}`), a forced tool call
// (tool_choice "required" or a named function: a call whose one argument is the label), stop and
// max_tokens (cut as an LLM's output is cut), logprobs (its label distribution). Refused with a
// 400 naming the parameter: n > 1 and logit_bias (one answer, no tokens to bias), and the shapes
// a label cannot fill (a schema or function with several required fields). The refusal is decided
// per task, before routing, so one request never succeeds or fails by the router's dice.

export interface ClassifierOptionRefusal {
  param: string;
  message: string;
}

type ToolChoice = ChatModelRequest['tool_choice'];
type Tool = NonNullable<ChatModelRequest['tools']>[number];

/** The hot path's one check: whether the request carries any option this module looks at. */
export function hasClassifierOptions(r: ChatModelRequest): boolean {
  return (
    (r.n != null && r.n > 1) ||
    r.logit_bias != null ||
    r.response_format !== undefined ||
    (r.tool_choice !== undefined && r.tool_choice !== 'none' && r.tool_choice !== 'auto') ||
    r.stop != null ||
    r.max_tokens != null ||
    r.max_completion_tokens != null ||
    r.logprobs === true
  );
}

/** Whether classifierRefusal could refuse the request (cheaper than asking which student serves). */
export function classifierMayRefuse(r: ChatModelRequest): boolean {
  return (r.n != null && r.n > 1) || r.logit_bias != null || r.response_format?.type === 'json_schema' || (r.tool_choice !== undefined && r.tool_choice !== 'none' && r.tool_choice !== 'auto');
}

/** Names the JSON field a label goes in: the object's only field, or `key` among several optional ones. */
function labelField(schema: Record<string, unknown> | undefined, key: string, what: string): string | ClassifierOptionRefusal {
  if (!schema) return key;
  if (schema.type !== undefined && schema.type !== 'object') return { param: 'response_format', message: `${what} must describe an object for a classifier's answer (it answers {"${key}": <label>}).` };
  const properties = schema.properties && typeof schema.properties === 'object' ? Object.keys(schema.properties) : [];
  const required = Array.isArray(schema.required) ? schema.required.filter((x): x is string => typeof x === 'string') : [];
  const field = properties.length === 1 ? properties[0]! : properties.length === 0 ? key : properties.includes(key) ? key : undefined;
  if (field === undefined || required.some((r) => r !== field)) {
    return { param: 'response_format', message: `${what} has several fields; a classifier fills one with its label (give it a single string field, or one named '${key}').` };
  }
  return field;
}

/** The function a forced tool call goes to, or why a classifier cannot make it. */
function forcedFunction(choice: ToolChoice, tools: readonly Tool[] | undefined): Tool | ClassifierOptionRefusal | undefined {
  if (choice === undefined || choice === 'none' || choice === 'auto') return undefined;
  if (!tools?.length) return { param: 'tool_choice', message: `tool_choice ${JSON.stringify(choice)} needs tools.` };
  if (choice === 'required') {
    if (tools.length === 1) return tools[0]!;
    return { param: 'tool_choice', message: 'tool_choice "required" with several tools: a classifier cannot choose between functions; name one ({"type": "function", "function": {"name": …}}).' };
  }
  const named = tools.find((t) => t.function.name === choice.function.name);
  return named ?? { param: 'tool_choice', message: `tool_choice names the function '${choice.function.name}', which is not in tools.` };
}

/** Why a classifier cannot answer this request as asked; undefined when it can. */
export function classifierRefusal(r: ChatModelRequest, key = 'label'): ClassifierOptionRefusal | undefined {
  if (r.n != null && r.n > 1) return { param: 'n', message: 'n > 1 is not supported by this task: its student is a classifier, which has one answer (ask for n = 1, the default).' };
  if (r.logit_bias != null && Object.keys(r.logit_bias).length > 0) return { param: 'logit_bias', message: 'logit_bias is not supported by this task: its student is a classifier over labels, not tokens.' };
  const fn = forcedFunction(r.tool_choice, r.tools);
  if (fn && 'param' in fn) return fn;
  if (fn) {
    const field = labelField(fn.function.parameters, key, `The parameters of function '${fn.function.name}'`);
    if (typeof field !== 'string') return { ...field, param: 'tools' };
    return undefined; // a forced call wins over response_format
  }
  if (r.response_format?.type === 'json_schema') {
    const field = labelField(r.response_format.json_schema.schema, key, 'response_format.json_schema.schema');
    if (typeof field !== 'string') return field;
  }
  return undefined;
}

export interface ClassifierAnswer {
  /** Message content ('' when the answer is a tool call). */
  text: string;
  toolCalls?: ToolCall[];
  finishReason: FinishReason;
}

export interface ShapeOptions {
  /** The label as a plain answer writes it (the task's label format). */
  formatted: string;
  /** The JSON field of a JSON answer (the task's key, or 'label'). */
  key: string;
  count: CountTokens;
  toolCallId: string;
}

/** The first `max` tokens of `text` (the longest prefix that counts at most `max`). */
export function truncateToTokens(text: string, max: number, count: CountTokens): string {
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (count(text.slice(0, mid)) <= max) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}

function cutAtStop(text: string, stop: ChatModelRequest['stop']): string {
  if (stop == null) return text;
  let end = text.length;
  for (const s of typeof stop === 'string' ? [stop] : stop) {
    const at = s ? text.indexOf(s) : -1;
    if (at >= 0 && at < end) end = at;
  }
  return text.slice(0, end);
}

/**
 * A classifier's label written as the request asks: a forced tool call, JSON, or the plain label;
 * then cut at a stop sequence and to max_tokens, as an LLM's output would be. Throws the refusal
 * (a 400) when the request asks for what a label cannot fill.
 */
export function shapeClassifierAnswer(label: string, r: ChatModelRequest, o: ShapeOptions): ClassifierAnswer {
  const refusal = classifierRefusal({ ...r, n: 1, logit_bias: null }, o.key);
  if (refusal) throw invalidRequest(refusal.message, refusal.param, 'unsupported_parameter');
  const limit = r.max_completion_tokens ?? r.max_tokens ?? undefined;
  const fit = (text: string): [string, FinishReason] => (limit != null && o.count(text) > limit ? [truncateToTokens(text, limit, o.count), 'length'] : [text, 'stop']);
  const fn = forcedFunction(r.tool_choice, r.tools) as Tool | undefined;
  if (fn) {
    const field = labelField(fn.function.parameters, o.key, '') as string;
    const [args, finish] = fit(JSON.stringify({ [field]: label }));
    const call: ToolCall = { id: o.toolCallId, type: 'function', function: { name: fn.function.name, arguments: args } };
    return { text: '', toolCalls: [call], finishReason: finish === 'length' ? 'length' : 'tool_calls' };
  }
  let text = o.formatted;
  const format = r.response_format;
  if (format?.type === 'json_object') text = o.formatted.startsWith('{') ? o.formatted : JSON.stringify({ [o.key]: label });
  else if (format?.type === 'json_schema') text = JSON.stringify({ [labelField(format.json_schema.schema, o.key, '') as string]: label });
  const [out, finishReason] = fit(cutAtStop(text, r.stop));
  return { text: out, finishReason };
}

/**
 * A classifier's logprobs in OpenAI's shape: the answer as one token whose logprob is its label's,
 * and the `top` most likely labels, each written as that answer would be (`render`).
 */
export function classifierLogprobs(
  probabilities: ArrayLike<number>,
  labels: readonly string[],
  best: number,
  answer: string,
  top: number,
  render: (label: string) => string,
): TokenLogprob[] {
  const lp = (p: number) => Math.log(Math.max(p, 1e-45));
  const picked: number[] = [];
  // k passes over the labels (k ≤ 20): cheaper than sorting thousands of labels for a few.
  for (let k = 0; k < Math.min(top, labels.length); k++) {
    let at = -1;
    for (let i = 0; i < labels.length; i++) if (!picked.includes(i) && (at < 0 || probabilities[i]! > probabilities[at]!)) at = i;
    picked.push(at);
  }
  return [{ token: answer, logprob: lp(probabilities[best]!), topLogprobs: picked.map((i) => ({ token: render(labels[i]!), logprob: lp(probabilities[i]!) })) }];
}
