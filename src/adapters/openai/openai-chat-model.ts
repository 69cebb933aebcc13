import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import type {
  CallOptions,
  ChatModelRequest,
  ChatModelResult,
  ChatStreamEvent,
  FinishReason,
  TokenLogprob,
  Usage,
} from '../../core/chat/chat-model-types.js';
import { UpstreamError } from '../../core/errors.js';
import type { ChatModel } from '../../core/ports.js';

// A teacher or remote student behind any OpenAI-compatible endpoint: Azure OpenAI (AzureOpenAI
// client), Azure AI Foundry model deployments (DeepSeek-V3, Llama-3.1-405B, Phi-4-mini), or any
// server speaking the chat-completions wire format. Retries on 408/409/429/5xx honouring
// retry-after, with capped jittered backoff, are the openai SDK's own; this adapter maps its
// results and errors onto the ChatModel port.

export interface OpenAIChatModelOptions {
  /** Id used in pair records, headers and pricing. */
  id: string;
  client: OpenAI;
  /** Model name sent upstream (for Azure OpenAI: the deployment name). */
  model: string;
  hosting?: 'remote';
  maxRetries?: number;
  /** Default per-call budget; the router's budget applies when it is smaller. */
  timeoutInMs?: number;
  /** Extra request fields, e.g. teacher defaults such as `{ temperature: 0.2 }` for dataset jobs. */
  defaults?: Partial<ChatModelRequest>;
}

export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  readonly hosting = 'remote' as const;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly maxRetries: number;
  private readonly timeoutInMs: number;
  private readonly defaults: Partial<ChatModelRequest>;

  constructor(options: OpenAIChatModelOptions) {
    this.id = options.id;
    this.client = options.client;
    this.model = options.model;
    this.maxRetries = options.maxRetries ?? 2;
    this.timeoutInMs = options.timeoutInMs ?? 60_000;
    this.defaults = options.defaults ?? {};
  }

  private requestOptions(options: CallOptions | undefined) {
    return {
      signal: options?.abortSignal,
      timeout: Math.min(this.timeoutInMs, options?.timeoutInMs ?? Infinity),
      maxRetries: this.maxRetries,
    };
  }

  async generate(request: ChatModelRequest, options?: CallOptions): Promise<ChatModelResult> {
    const body = { ...this.defaults, ...request, model: this.model, stream: false } as ChatCompletionCreateParamsNonStreaming;
    let completion: ChatCompletion;
    try {
      completion = await this.client.chat.completions.create(body, this.requestOptions(options));
    } catch (err) {
      throw this.mapError(err, options?.abortSignal);
    }
    const choice = completion.choices?.[0];
    if (!choice || !choice.message) throw new UpstreamError(this.id, 'the response has no choices', { retryable: true });
    const logprobs = mapLogprobs(choice.logprobs?.content);
    const result: ChatModelResult = {
      model: completion.model || this.model,
      text: choice.message.content ?? '',
      finishReason: (choice.finish_reason ?? 'stop') as FinishReason,
      usage: mapUsage(completion.usage),
      refusal: choice.message.refusal ?? null,
    };
    if (choice.message.tool_calls?.length) {
      result.toolCalls = choice.message.tool_calls
        .filter((t) => t.type === 'function')
        .map((t) => ({ id: t.id, type: 'function' as const, function: { name: t.function.name, arguments: t.function.arguments } }));
    }
    if (logprobs) {
      result.logprobs = logprobs;
      result.confidence = confidenceFromLogprobs(logprobs);
    }
    return result;
  }

  async *stream(request: ChatModelRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent> {
    // Usage is always requested upstream: the pair record needs it even if the client did not ask.
    const body = {
      ...this.defaults,
      ...request,
      model: this.model,
      stream: true,
      stream_options: { include_usage: true },
    } as ChatCompletionCreateParamsStreaming;
    let finishReason: FinishReason | undefined;
    let usage: Usage | undefined;
    let model = this.model;
    const allLogprobs: TokenLogprob[] = [];
    try {
      const stream = await this.client.chat.completions.create(body, this.requestOptions(options));
      for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = mapUsage(chunk.usage);
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) yield { type: 'delta', text: delta.content };
        for (const tc of delta?.tool_calls ?? []) {
          yield {
            type: 'tool_call_delta',
            index: tc.index,
            ...(tc.id ? { id: tc.id } : {}),
            ...(tc.function?.name ? { name: tc.function.name } : {}),
            ...(tc.function?.arguments ? { arguments: tc.function.arguments } : {}),
          };
        }
        const lp = mapLogprobs(choice.logprobs?.content);
        if (lp) {
          allLogprobs.push(...lp);
          yield { type: 'logprobs', logprobs: lp };
        }
        if (choice.finish_reason) finishReason = choice.finish_reason as FinishReason;
      }
    } catch (err) {
      throw this.mapError(err, options?.abortSignal);
    }
    if (!finishReason) throw new UpstreamError(this.id, 'the stream ended without a finish reason', { retryable: true });
    yield {
      type: 'finish',
      finishReason,
      usage: usage ?? { promptTokens: 0, completionTokens: 0 },
      model,
      ...(allLogprobs.length ? { confidence: confidenceFromLogprobs(allLogprobs) } : {}),
    };
  }

  private mapError(err: unknown, signal: AbortSignal | undefined): unknown {
    if (err instanceof UpstreamError) return err;
    if (err instanceof APIUserAbortError || (err instanceof Error && err.name === 'AbortError')) {
      // Our own budget expiring shows up as an abort; the client going away is a plain abort.
      const reason = signal?.reason as { name?: string } | undefined;
      if (reason?.name === 'TimeoutError') return new UpstreamError(this.id, 'timed out', { timeout: true, cause: err });
      return err;
    }
    if (err instanceof APIConnectionTimeoutError) return new UpstreamError(this.id, 'timed out', { timeout: true, cause: err });
    if (err instanceof APIError) {
      const status = err.status;
      const message = upstreamMessage(err);
      return new UpstreamError(this.id, status ? `HTTP ${status}: ${message}` : message, {
        upstreamStatus: status,
        retryable: status === undefined || status === 408 || status === 409 || status === 429 || status >= 500,
        cause: err,
      });
    }
    if (err instanceof SyntaxError) return new UpstreamError(this.id, `malformed response: ${err.message}`, { cause: err });
    return new UpstreamError(this.id, err instanceof Error ? err.message : String(err), { cause: err });
  }
}

function upstreamMessage(err: APIError): string {
  const body = err.error as { message?: unknown } | undefined;
  if (body && typeof body.message === 'string') return body.message;
  return err.message;
}

function mapUsage(u: { prompt_tokens?: number; completion_tokens?: number } | null | undefined): Usage {
  return { promptTokens: u?.prompt_tokens ?? 0, completionTokens: u?.completion_tokens ?? 0 };
}

function mapLogprobs(
  content: { token: string; logprob: number; top_logprobs?: { token: string; logprob: number }[] }[] | null | undefined,
): TokenLogprob[] | undefined {
  if (!content?.length) return undefined;
  return content.map((c) => ({
    token: c.token,
    logprob: c.logprob,
    ...(c.top_logprobs?.length ? { topLogprobs: c.top_logprobs.map((t) => ({ token: t.token, logprob: t.logprob })) } : {}),
  }));
}

/** Geometric-mean token probability: a cheap, length-independent confidence for cascades. */
export function confidenceFromLogprobs(logprobs: readonly TokenLogprob[]): number {
  if (logprobs.length === 0) return 0;
  let sum = 0;
  for (const l of logprobs) sum += l.logprob;
  return Math.exp(sum / logprobs.length);
}
