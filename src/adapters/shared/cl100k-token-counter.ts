import type { Tiktoken } from 'js-tiktoken/lite';
import { createRequire } from 'node:module';
import type { Usage } from '../../core/chat/chat-model-types.js';
import type { ChatMessage } from '../../core/chat/chat-request-schema.js';
import { countChatUsage, estimateTokenCount, type CountTokens } from '../../core/chat/chat-token-count.js';
import { createPieceCounter, type PieceCounter } from './token-piece-counter.js';

// One cl100k_base tokenizer for every model that counts its own usage (the in-process student, the
// demo teacher), so both arms count the same prompt alike. Building it parses ~100k ranks and
// blocks the event loop for 0.1-0.6 s, so it is never built on a request: `warmCl100k()` runs
// where a model is warmed (promotion, start-up); until it is ready a request counts with the
// 4-characters estimate and says so (`source: 'estimated'`), and schedules the build for later.

let encoder: Tiktoken | undefined;
/** What requests count with (see token-piece-counter.ts): built with the encoder. */
let counter: PieceCounter | undefined;
let loading: Promise<void> | undefined;

/** Builds the tokenizer once (lite entry + one rank file: the other encodings are never parsed). */
export function warmCl100k(): Promise<void> {
  loading ??= (async () => {
    const [{ Tiktoken }, ranks] = await Promise.all([import('js-tiktoken/lite'), import('js-tiktoken/ranks/cl100k_base')]);
    encoder = new Tiktoken(ranks.default);
    counter = createPieceCounter(encoder, ranks.default.pat_str);
  })();
  return loading;
}

const require = createRequire(import.meta.url);

/**
 * Tokens of `text`, building the tokenizer synchronously if it is not built yet: for job work
 * (fine-tuning file validation), never for a request. The same one tokenizer as warmCl100k's.
 */
export function countCl100kTokens(text: string): number {
  if (!encoder) {
    const { Tiktoken } = require('js-tiktoken/lite') as typeof import('js-tiktoken/lite');
    // The CommonJS build exports the ranks object itself (the ES build as its default export).
    const ranks = require('js-tiktoken/ranks/cl100k_base') as (typeof import('js-tiktoken/ranks/cl100k_base'))['default'];
    encoder = new Tiktoken(ranks);
    counter = createPieceCounter(encoder, ranks.pat_str);
  }
  return encoder.encode(text).length;
}

/** Whether counts are exact cl100k_base counts yet. */
export function cl100kReady(): boolean {
  return counter !== undefined;
}

/** Usage of a locally answered request: cl100k_base when loaded, else the estimate (marked). */
export function countLocalUsage(messages: readonly ChatMessage[], answer: string): Usage {
  if (counter) return countChatUsage(messages, answer, counter, 'counted');
  // Off this request's path: the next turn of the event loop, not before the response.
  if (!loading) setImmediate(() => void warmCl100k().catch(() => undefined));
  return countChatUsage(messages, answer, estimateTokenCount, 'estimated');
}

/** The counter countLocalUsage uses right now: cl100k_base once loaded, else the estimate. */
export function localTokenCounter(): CountTokens {
  return counter ?? estimateTokenCount;
}
