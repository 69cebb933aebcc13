// Validates an OpenAI chat fine-tuning dataset the way OpenAI's data-preparation notebook
// (openai-cookbook, Chat_finetuning_data_prep.ipynb) does: the same format-error categories, the
// same token counting (3 per message + tokens of every value + 1 per name + 3), the same
// distributions (numpy linear quantiles) and the same billing estimate. The tokenizer is injected
// (cl100k_base via js-tiktoken in production) so this stays pure.

export const MAX_TOKENS_PER_EXAMPLE = 4096;
const TARGET_EPOCHS = 3;
const MIN_TARGET_EXAMPLES = 100;
const MAX_TARGET_EXAMPLES = 25_000;
const MIN_DEFAULT_EPOCHS = 1;
const MAX_DEFAULT_EPOCHS = 25;
const ALLOWED_KEYS = new Set(['role', 'content', 'name', 'function_call', 'weight']);
const ALLOWED_ROLES = new Set(['system', 'user', 'assistant', 'function']);

export type FormatErrorKind =
  | 'json_parse'
  | 'data_type'
  | 'missing_messages_list'
  | 'message_missing_key'
  | 'message_unrecognized_key'
  | 'unrecognized_role'
  | 'missing_content'
  | 'example_missing_assistant_message';

export interface Distribution {
  min: number;
  max: number;
  mean: number;
  median: number;
  p10: number;
  p90: number;
}

export interface ChatDatasetReport {
  numExamples: number;
  formatErrors: Partial<Record<FormatErrorKind, number>>;
  /** Line numbers (1-based) of the examples with format errors, first 100. */
  errorLines: number[];
  numMissingSystem: number;
  numMissingUser: number;
  messagesPerExample?: Distribution;
  totalTokensPerExample?: Distribution;
  assistantTokensPerExample?: Distribution;
  numOverMaxTokens: number;
  billing: { maxTokensPerExample: number; billingTokens: number; epochs: number; chargedTokens: number };
}

export function quantileLinear(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function distribution(values: readonly number[]): Distribution | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  return {
    min: s[0]!,
    max: s[s.length - 1]!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    median: quantileLinear(s, 0.5),
    p10: quantileLinear(s, 0.1),
    p90: quantileLinear(s, 0.9),
  };
}

/** The notebook's default epoch rule for a dataset of n examples. */
export function defaultEpochs(n: number): number {
  if (n === 0) return TARGET_EPOCHS;
  if (n * TARGET_EPOCHS < MIN_TARGET_EXAMPLES) return Math.min(MAX_DEFAULT_EPOCHS, Math.floor(MIN_TARGET_EXAMPLES / n));
  if (n * TARGET_EPOCHS > MAX_TARGET_EXAMPLES) return Math.max(MIN_DEFAULT_EPOCHS, Math.floor(MAX_TARGET_EXAMPLES / n));
  return TARGET_EPOCHS;
}

type ChatExample = Record<string, unknown>[];

export function validateChatDataset(jsonl: string, countTokens: (text: string) => number): ChatDatasetReport {
  const lines = jsonl.split('\n').filter((l) => l.trim() !== '');
  const { formatErrors, errorLines, examples } = checkFormat(lines);

  let numMissingSystem = 0;
  let numMissingUser = 0;
  const nMessages: number[] = [];
  const convoLens: number[] = [];
  const assistantLens: number[] = [];
  for (const messages of examples) {
    if (!messages.some((m) => m?.role === 'system')) numMissingSystem++;
    if (!messages.some((m) => m?.role === 'user')) numMissingUser++;
    nMessages.push(messages.length);
    const { total, assistant } = exampleTokens(messages, countTokens);
    convoLens.push(total);
    assistantLens.push(assistant);
  }
  const billingTokens = convoLens.reduce((a, l) => a + Math.min(MAX_TOKENS_PER_EXAMPLE, l), 0);
  const epochs = defaultEpochs(examples.length);
  const report: ChatDatasetReport = {
    numExamples: lines.length,
    formatErrors,
    errorLines,
    numMissingSystem,
    numMissingUser,
    numOverMaxTokens: convoLens.filter((l) => l > MAX_TOKENS_PER_EXAMPLE).length,
    billing: { maxTokensPerExample: MAX_TOKENS_PER_EXAMPLE, billingTokens, epochs, chargedTokens: billingTokens * epochs },
  };
  const md = distribution(nMessages);
  const td = distribution(convoLens);
  const ad = distribution(assistantLens);
  if (md) report.messagesPerExample = md;
  if (td) report.totalTokensPerExample = td;
  if (ad) report.assistantTokensPerExample = ad;
  return report;
}

/**
 * The notebook's format checks, line by line. Every example with a messages list goes on to the
 * token counts, even one with format errors (the notebook counts them too).
 */
function checkFormat(lines: readonly string[]) {
  const formatErrors: Partial<Record<FormatErrorKind, number>> = {};
  const errorLines: number[] = [];
  const bump = (k: FormatErrorKind) => (formatErrors[k] = (formatErrors[k] ?? 0) + 1);
  const examples: ChatExample[] = [];

  lines.forEach((line, i) => {
    let ex: unknown;
    try {
      ex = JSON.parse(line);
    } catch {
      bump('json_parse');
      if (errorLines.length < 100) errorLines.push(i + 1);
      return;
    }
    const before = Object.values(formatErrors).reduce((a, b) => a + (b ?? 0), 0);
    if (typeof ex !== 'object' || ex === null || Array.isArray(ex)) {
      bump('data_type');
    } else {
      const messages = (ex as { messages?: unknown }).messages;
      if (!Array.isArray(messages) || messages.length === 0) {
        bump('missing_messages_list');
      } else {
        checkMessages(messages as ChatExample, bump);
        examples.push(messages as ChatExample);
      }
    }
    const after = Object.values(formatErrors).reduce((a, b) => a + (b ?? 0), 0);
    if (after > before && errorLines.length < 100) errorLines.push(i + 1);
  });
  return { formatErrors, errorLines, examples };
}

function checkMessages(messages: ChatExample, bump: (k: FormatErrorKind) => void): void {
  for (const m of messages) {
    if (typeof m !== 'object' || m === null || !('role' in m) || !('content' in m)) bump('message_missing_key');
    if (typeof m === 'object' && m !== null && Object.keys(m).some((k) => !ALLOWED_KEYS.has(k))) bump('message_unrecognized_key');
    if (!ALLOWED_ROLES.has(String(m?.role))) bump('unrecognized_role');
    const content = m?.content;
    if ((!content && !m?.function_call) || typeof content !== 'string') bump('missing_content');
  }
  if (!messages.some((m) => m?.role === 'assistant')) bump('example_missing_assistant_message');
}

/** The notebook's count: 3 per message, every value's tokens, 1 per name, 3 to prime the reply. */
function exampleTokens(messages: ChatExample, countTokens: (text: string) => number): { total: number; assistant: number } {
  let total = 0;
  let assistant = 0;
  for (const m of messages) {
    total += 3;
    for (const [key, value] of Object.entries(m ?? {})) {
      total += countTokens(typeof value === 'string' ? value : JSON.stringify(value));
      if (key === 'name') total += 1;
    }
    if (m?.role === 'assistant' && typeof m.content === 'string') assistant += countTokens(m.content);
  }
  total += 3;
  return { total, assistant };
}
