import { chatCompletionRequestSchema, MAX_MESSAGES, type ChatCompletionRequest } from './chat-request-schema.js';

// The hot request shape checked without zod (issue 19): text messages and scalar options, the
// shape of nearly every production chat request. It gives exactly what the schema's parse gives
// (a new object, keys in the schema's order, unknown keys stripped) or, for anything it does not
// recognise or anything invalid, leaves the request to the schema — so every error message is
// the schema's own. test/unit/chat-request-fast-path.test.ts holds the two to the same answers.

type Check = (value: unknown) => boolean;

const num = (min: number, max: number, int = false, nullable = true): Check => (v) =>
  (v === null && nullable) || (typeof v === 'number' && v >= min && v <= max && (!int || Number.isSafeInteger(v)));
const bool = (nullable = true): Check => (v) => typeof v === 'boolean' || (v === null && nullable);
const str = (maxLength: number, nullable: boolean): Check => (v) => (typeof v === 'string' && v.length <= maxLength) || (v === null && nullable);
const oneOf = (values: readonly string[]): Check => (v) => v === null || (typeof v === 'string' && values.includes(v));
const streamOptions: Check = (v) => {
  if (v === null) return true;
  if (typeof v !== 'object' || Array.isArray(v)) return false;
  for (const k in v) if (k !== 'include_usage' || typeof (v as Record<string, unknown>)[k] !== 'boolean') return false;
  return true;
};

/** Top-level fields the fast path takes, with the schema's constraints. */
const SCALARS = new Map<string, Check>(Object.entries({
  temperature: num(0, 2),
  top_p: num(0, 1),
  max_tokens: num(1, Infinity, true),
  max_completion_tokens: num(1, Infinity, true),
  n: num(1, 128, true),
  presence_penalty: num(-2, 2),
  frequency_penalty: num(-2, 2),
  logprobs: bool(),
  top_logprobs: num(0, 20, true),
  seed: num(-Infinity, Infinity, true),
  parallel_tool_calls: bool(false),
  user: str(256, false),
  store: bool(),
  stream: bool(),
  stream_options: streamOptions,
  reasoning_effort: oneOf(['minimal', 'low', 'medium', 'high']),
  service_tier: str(Infinity, true),
}));

/** The schema's key order: the parsed request is built in it, as zod builds it. */
const KEY_ORDER = Object.keys(chatCompletionRequestSchema.shape);

/** Message keys the fast path takes per role, in the schema's order. */
const MESSAGE_KEYS = new Map<unknown, readonly string[]>([
  ['system', ['role', 'content', 'name']],
  ['developer', ['role', 'content', 'name']],
  ['user', ['role', 'content', 'name']],
  ['assistant', ['role', 'content', 'name']],
  ['tool', ['role', 'content', 'tool_call_id']],
]);

function fastMessage(m: unknown): Record<string, unknown> | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
  const msg = m as Record<string, unknown>;
  const keys = MESSAGE_KEYS.get(msg.role);
  if (!keys || typeof msg.content !== 'string') return undefined;
  for (const k in msg) if (!keys.includes(k)) return undefined;
  const name = msg.name;
  if (name !== undefined && (typeof name !== 'string' || name.length < 1 || name.length > 64)) return undefined;
  if (keys[2] === 'tool_call_id' && typeof msg.tool_call_id !== 'string') return undefined;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (msg[k] !== undefined) out[k] = msg[k];
  return out;
}

/** The request when it has the hot shape and is valid; undefined leaves it to the schema. */
export function fastChatCompletionRequest(body: unknown): ChatCompletionRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model.length < 1 || b.model.length > 256) return undefined;
  const messages = b.messages;
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > MAX_MESSAGES) return undefined;
  for (const k in b) {
    if (k === 'model' || k === 'messages') continue;
    const check = SCALARS.get(k);
    if (!check || !check(b[k])) return undefined;
  }
  // The schema's refinements.
  if (typeof b.top_logprobs === 'number' && b.top_logprobs > 0 && !b.logprobs) return undefined;
  if (b.stream_options != null && b.stream !== true) return undefined;
  const parsedMessages: Record<string, unknown>[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = fastMessage(messages[i]);
    if (!m) return undefined;
    parsedMessages[i] = m;
  }
  const out: Record<string, unknown> = {};
  for (const k of KEY_ORDER) {
    if (k === 'messages') out.messages = parsedMessages;
    else if (k === 'stream_options' && b.stream_options) out.stream_options = { ...(b.stream_options as object) };
    else if (b[k] !== undefined) out[k] = b[k];
  }
  return out as ChatCompletionRequest;
}

/** The chat request: the fast path when it applies, else the schema (and its error messages). */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  return fastChatCompletionRequest(body) ?? chatCompletionRequestSchema.parse(body);
}
