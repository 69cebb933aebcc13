import type { ChatCompletionRequest } from './chat-request-schema.js';

// What a ChatModel (teacher or student, remote or in-process) is asked and answers. Deliberately
// close to the OpenAI wire format so the OpenAI adapter is a thin mapping, but free of transport
// details (ids, created timestamps, SSE framing), which the HTTP edge adds.

export type Arm = 'teacher' | 'student';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

/**
 * Where a usage count comes from (a pair's `usageSource`), so reports compare like with like:
 * `upstream` — reported by the remote model's API (its own tokenizer); `counted` — counted here with
 * cl100k_base over the chat recipe of `chat-token-count.ts`; `estimated` — the same recipe at 4
 * characters per token (before the tokenizer has loaded, or where none is available).
 */
export type UsageSource = 'upstream' | 'counted' | 'estimated';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Absent on records written before sources were recorded, or when an upstream sent no usage. */
  source?: UsageSource;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  topLogprobs?: { token: string; logprob: number }[];
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The request a model receives: the client's request with the routable model name replaced. */
export type ChatModelRequest = Omit<ChatCompletionRequest, 'model' | 'stream' | 'stream_options' | 'store'>;

export interface ChatModelResult {
  /** The model that actually answered (upstream model or deployment name, or student version). */
  model: string;
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  toolCalls?: ToolCall[];
  refusal?: string | null;
  logprobs?: TokenLogprob[] | null;
  /**
   * The model's own confidence in its answer, in [0, 1], when it can tell (a classifier's top
   * probability, or exp(mean token logprob)). The cascade escalates when it is low.
   */
  confidence?: number;
  /** Label probabilities of a classifier student, by label. */
  labelProbabilities?: Record<string, number>;
  /** Choices 1..n-1 when the request asked for n > 1; the fields above are choice 0. */
  extraChoices?: ChoiceOutput[];
}

/** One more choice of an answer to a request with n > 1. */
export interface ChoiceOutput {
  text: string;
  finishReason: FinishReason;
  toolCalls?: ToolCall[];
  refusal?: string | null;
  logprobs?: TokenLogprob[] | null;
}

/**
 * Events of a streamed answer. `choice` is the choice index when the request asked for n > 1
 * (absent: choice 0); `finish` ends the stream and is choice 0's, `choice_finish` ends another one.
 */
export type ChatStreamEvent =
  | { type: 'delta'; text: string; choice?: number }
  | { type: 'tool_call_delta'; index: number; id?: string; name?: string; arguments?: string; choice?: number }
  | { type: 'logprobs'; logprobs: TokenLogprob[]; choice?: number }
  | { type: 'choice_finish'; choice: number; finishReason: FinishReason }
  | { type: 'finish'; finishReason: FinishReason; usage?: Usage; model: string; confidence?: number };

export interface CallOptions {
  abortSignal?: AbortSignal;
  /** Time budget of one attempt until the response headers (the SDK's per-try time-out). */
  timeoutInMs?: number;
  /** Longest silence allowed while a body or stream is read. */
  idleTimeoutInMs?: number;
  /** Budget of the whole call: every attempt, the body, the whole stream. */
  deadlineInMs?: number;
}
