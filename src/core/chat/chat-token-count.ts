import type { ChatMessage } from './chat-request-schema.js';
import { messageText } from './chat-request-schema.js';
import type { Usage, UsageSource } from './chat-model-types.js';

// How a chat request is counted in tokens when no upstream reports it (the in-process student, the
// demo teacher), so both arms of a pair carry the same count for the same prompt. OpenAI's recipe
// for its chat models (openai-cookbook, "How to count tokens with tiktoken"): 3 tokens of framing
// per message, its role and content (and 1 more for a name), and 3 that prime the reply. Pure:
// the tokenizer is passed in (cl100k_base in adapters/shared, or the 4-characters estimate).

export type CountTokens = (text: string) => number;

const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;

/** Prompt tokens of a chat request, as OpenAI bills its chat models. */
export function chatPromptTokens(messages: readonly ChatMessage[], count: CountTokens): number {
  let n = REPLY_PRIMING;
  for (const m of messages) {
    n += TOKENS_PER_MESSAGE + count(m.role) + count(messageText(m));
    const name = (m as { name?: unknown }).name;
    if (typeof name === 'string' && name) n += TOKENS_PER_NAME + count(name);
  }
  return n;
}

/** The estimate used where no tokenizer is at hand: ≈ 4 characters per token of English. */
export const estimateTokenCount: CountTokens = (text) => Math.ceil(text.length / 4);

/** Usage of one answer counted locally: the chat recipe for the prompt, the answer's own tokens. */
export function countChatUsage(messages: readonly ChatMessage[], answer: string, count: CountTokens, source: UsageSource): Usage {
  return { promptTokens: chatPromptTokens(messages, count), completionTokens: Math.max(1, count(answer)), source };
}
