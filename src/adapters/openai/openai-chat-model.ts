import type OpenAI from 'openai';
import type { APIError } from 'openai';
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
  ChoiceOutput,
  FinishReason,
  TokenLogprob,
  Usage,
} from '../../core/chat/chat-model-types.js';
import { UpstreamError } from '../../core/errors.js';
import { scrubSecrets } from '../../core/scrub-secrets.js';
import type { ChatModel } from '../../core/ports.js';
import { CallDeadline } from './call-deadline.js';
import { WireError, type ChatCompletionsClient } from './chat-completions-client.js';
import { sseData } from './sse-data.js';
import { retryAfterHeaderInMs } from '../shared/retry-after-header.js';

// A teacher or remote student behind any OpenAI-compatible endpoint: Azure OpenAI (AzureOpenAI
// client), Azure AI Foundry model deployments (DeepSeek-V3, Llama-3.1-405B, Phi-4-mini), or any
// server speaking the chat-completions wire format. Retries on 408/409/429/5xx honouring
// retry-after, with capped jittered backoff, are the openai SDK's own; this adapter maps its
// results and errors onto the ChatModel port. With a `wire` client (built by createOpenAIModel unless
// a custom fetch is injected) chat calls skip the SDK and fetch: same semantics, less CPU per call.

export interface OpenAIChatModelOptions {
  /** Id used in pair records, headers and pricing. */
  id: string;
  /** The SDK client, or how to build it on first use (the openai SDK is ~150 ms of imports). */
  client: OpenAI | (() => Promise<OpenAI>);
  /** The undici hot path for chat calls; without it they go through `client`. */
  wire?: ChatCompletionsClient;
  /** Model name sent upstream (for Azure OpenAI: the deployment name). */
  model: string;
  hosting?: 'remote';
  maxRetries?: number;
  /** Per-attempt budget until the response headers; the router's budget applies when it is smaller. */
  timeoutInMs?: number;
  /** Longest silence while a body or stream is read (default 30 s); the router's applies when smaller. */
  idleTimeoutInMs?: number;
  /** Whole call: attempts, body, stream (default 5 min); the router's applies when smaller. */
  deadlineInMs?: number;
  /** Extra request fields, e.g. teacher defaults such as `{ temperature: 0.2 }` for dataset jobs. */
  defaults?: Partial<ChatModelRequest>;
}

export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  readonly hosting = 'remote' as const;
  private readonly client: OpenAI | (() => Promise<OpenAI>);
  private readonly wire: ChatCompletionsClient | undefined;
  private readonly model: string;
  private readonly maxRetries: number;
  private readonly timeoutInMs: number;
  private readonly idleTimeoutInMs: number;
  private readonly deadlineInMs: number;
  private readonly defaults: Partial<ChatModelRequest>;

  constructor(options: OpenAIChatModelOptions) {
    this.id = options.id;
    this.client = options.client;
    this.wire = options.wire;
    this.model = options.model;
    this.maxRetries = options.maxRetries ?? 2;
    this.timeoutInMs = options.timeoutInMs ?? 60_000;
    this.idleTimeoutInMs = options.idleTimeoutInMs ?? 30_000;
    this.deadlineInMs = options.deadlineInMs ?? 300_000;
    this.defaults = options.defaults ?? {};
  }

  /** The SDK client; its error classes are loaded first, so that mapError recognises what it throws. */
  private async sdkClient(): Promise<OpenAI> {
    sdkErrors ??= await import('openai');
    return typeof this.client === 'function' ? this.client() : this.client;
  }

  /** The SDK's own timeout runs per attempt until the headers; the deadline covers everything. */
  private requestOptions(options: CallOptions | undefined, signal: AbortSignal) {
    return { signal, timeout: Math.min(this.timeoutInMs, options?.timeoutInMs ?? Infinity), maxRetries: this.maxRetries };
  }

  private deadline(options: CallOptions | undefined): CallDeadline {
    const totalInMs = Math.min(this.deadlineInMs, options?.deadlineInMs ?? Infinity);
    const idleInMs = Math.min(this.idleTimeoutInMs, options?.idleTimeoutInMs ?? Infinity);
    return new CallDeadline({ totalInMs, idleInMs, ...(options?.abortSignal ? { signal: options.abortSignal } : {}) });
  }

  /** A deadline that expired, as the 504 that the breaker counts and the router may fall back from. */
  private timedOut(deadline: CallDeadline, cause: unknown): UpstreamError {
    const what = deadline.expired === 'idle' ? 'no data within the idle time-out' : 'deadline exceeded';
    return new UpstreamError(this.id, `timed out (${what})`, { timeout: true, cause });
  }

  async generate(request: ChatModelRequest, options?: CallOptions): Promise<ChatModelResult> {
    const body = { ...this.defaults, ...request, model: this.model, stream: false } as ChatCompletionCreateParamsNonStreaming;
    let completion: ChatCompletion;
    const deadline = this.deadline(options);
    try {
      completion = this.wire ? await this.wireCompletion(this.wire, body, options, deadline) : await this.sdkCompletion(body, options, deadline);
    } catch (err) {
      throw deadline.expired ? this.timedOut(deadline, err) : this.mapError(err, deadline.signal);
    } finally {
      deadline.dispose();
    }
    return this.result(completion);
  }

  private async sdkCompletion(body: ChatCompletionCreateParamsNonStreaming, options: CallOptions | undefined, deadline: CallDeadline): Promise<ChatCompletion> {
    // The raw response, so that the body is read under the idle time-out (the SDK's parse is unbounded).
    const client = await this.sdkClient();
    const response = await client.chat.completions.create(body, this.requestOptions(options, deadline.signal)).asResponse();
    return JSON.parse(await readBody(response, deadline)) as ChatCompletion;
  }

  private async wireCompletion(wire: ChatCompletionsClient, body: object, options: CallOptions | undefined, deadline: CallDeadline): Promise<ChatCompletion> {
    const res = await wire.post(JSON.stringify(body), { signal: deadline.signal, headersTimeoutInMs: this.attemptTimeoutInMs(options), stream: false });
    deadline.touch();
    const chunks: Buffer[] = [];
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      deadline.touch();
      chunks.push(chunk);
    }
    return JSON.parse((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8')) as ChatCompletion;
  }

  private result(completion: ChatCompletion): ChatModelResult {
    const choice = completion.choices?.[0];
    if (!choice || !choice.message) throw new UpstreamError(this.id, 'the response has no choices', { retryable: true });
    const result: ChatModelResult = { model: completion.model || this.model, ...choiceOutput(choice), usage: mapUsage(completion.usage) };
    if (result.logprobs) result.confidence = confidenceFromLogprobs(result.logprobs);
    // n > 1: the other choices, in index order (an upstream may list them in any order).
    if (completion.choices.length > 1) {
      result.extraChoices = completion.choices
        .filter((c) => c !== choice && c.message)
        .sort((a, b) => a.index - b.index)
        .map(choiceOutput);
    }
    return result;
  }

  private attemptTimeoutInMs(options: CallOptions | undefined): number {
    return Math.min(this.timeoutInMs, options?.timeoutInMs ?? Infinity);
  }

  private async sdkChunks(body: ChatCompletionCreateParamsStreaming, options: CallOptions | undefined, deadline: CallDeadline): Promise<AsyncIterable<ChatCompletionChunk>> {
    const client = await this.sdkClient();
    const stream = await client.chat.completions.create(body, this.requestOptions(options, deadline.signal));
    deadline.touch();
    return stream as AsyncIterable<ChatCompletionChunk>;
  }

  private async *wireChunks(wire: ChatCompletionsClient, body: object, options: CallOptions | undefined, deadline: CallDeadline): AsyncIterable<ChatCompletionChunk> {
    const res = await wire.post(JSON.stringify(body), { signal: deadline.signal, headersTimeoutInMs: this.attemptTimeoutInMs(options), stream: true });
    deadline.touch();
    try {
      for await (const data of sseData(res.body as AsyncIterable<Buffer>, () => deadline.touch())) {
        const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: { message?: unknown } };
        // An error event mid-stream, as the SDK raises it: the upstream's words, retryable.
        if (chunk.error) throw new UpstreamError(this.id, scrubSecrets(typeof chunk.error.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error)), { cause: chunk.error });
        yield chunk;
      }
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
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
    const deadline = this.deadline(options);
    try {
      const stream = this.wire ? this.wireChunks(this.wire, body, options, deadline) : await this.sdkChunks(body, options, deadline);
      for await (const chunk of stream) {
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = mapUsage(chunk.usage);
        for (const choice of chunk.choices ?? []) {
          const events = chunkEvents(choice);
          if (events.length) {
            // While our consumer holds the next read, silence is not the upstream's fault.
            deadline.pauseIdle();
            for (const ev of events) {
              if (ev.type === 'logprobs' && !ev.choice) allLogprobs.push(...ev.logprobs);
              yield ev;
            }
            deadline.touch();
          }
          if (choice.finish_reason && choice.index > 0) yield { type: 'choice_finish', choice: choice.index, finishReason: choice.finish_reason as FinishReason };
          else if (choice.finish_reason) finishReason = choice.finish_reason as FinishReason;
        }
      }
      // The SDK ends its iteration quietly when its signal aborts: that is a time-out or the client leaving.
      if (deadline.signal.aborted) throw new DOMException('The upstream stream was aborted.', 'AbortError');
    } catch (err) {
      throw deadline.expired ? this.timedOut(deadline, err) : this.mapError(err, deadline.signal);
    } finally {
      deadline.dispose();
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
    if (err instanceof WireError) return err.toUpstreamError(this.id);
    // The caller went away while undici was reading: its stream errors are not AbortErrors, but this
    // is an abort (the breaker must not count it), as the SDK's APIUserAbortError is.
    const reason = signal?.reason as { name?: string } | undefined;
    if (this.wire && signal?.aborted && reason?.name !== 'TimeoutError') {
      return reason instanceof Error && reason.name === 'AbortError' ? reason : new DOMException('The call was aborted by its caller.', 'AbortError');
    }
    const sdk = sdkErrors;
    if ((sdk && err instanceof sdk.APIUserAbortError) || (err instanceof Error && err.name === 'AbortError')) {
      // Our own budget expiring shows up as an abort; the client going away is a plain abort.
      const reason = signal?.reason as { name?: string } | undefined;
      if (reason?.name === 'TimeoutError') return new UpstreamError(this.id, 'timed out', { timeout: true, cause: err });
      return err;
    }
    if (sdk && err instanceof sdk.APIConnectionTimeoutError) return new UpstreamError(this.id, 'timed out', { timeout: true, cause: err });
    if (sdk && err instanceof sdk.APIError) {
      const status = err.status;
      const message = upstreamMessage(err);
      // The upstream's retry-after becomes the error's hint (core never reads headers).
      const retryAfterInMs = retryAfterHeaderInMs(err.headers, Date.now());
      return new UpstreamError(this.id, status ? `HTTP ${status}: ${message}` : message, {
        upstreamStatus: status,
        retryable: status === undefined || status === 408 || status === 409 || status === 429 || status >= 500,
        ...(retryAfterInMs !== undefined ? { retryAfterInSeconds: retryAfterInMs / 1000 } : {}),
        cause: err,
      });
    }
    if (err instanceof SyntaxError) return new UpstreamError(this.id, `malformed response: ${err.message}`, { cause: err });
    return new UpstreamError(this.id, err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** The SDK's error classes, once a call has gone through the SDK (no SDK call, no SDK error). */
let sdkErrors: Pick<typeof import('openai'), 'APIError' | 'APIUserAbortError' | 'APIConnectionTimeoutError'> | undefined;

type StreamChoice = ChatCompletionChunk['choices'][number];

function chunkEvents(choice: StreamChoice): ChatStreamEvent[] {
  const events: ChatStreamEvent[] = [];
  const delta = choice.delta;
  // Choice 0 carries no index on its events (the common case costs no extra field).
  const at = choice.index > 0 ? { choice: choice.index } : {};
  if (delta?.content) events.push({ type: 'delta', text: delta.content, ...at });
  for (const tc of delta?.tool_calls ?? []) {
    events.push({
      type: 'tool_call_delta',
      index: tc.index,
      ...(tc.id ? { id: tc.id } : {}),
      ...(tc.function?.name ? { name: tc.function.name } : {}),
      ...(tc.function?.arguments ? { arguments: tc.function.arguments } : {}),
      ...at,
    });
  }
  const lp = mapLogprobs(choice.logprobs?.content);
  if (lp) events.push({ type: 'logprobs', logprobs: lp, ...at });
  return events;
}

type CompletionChoice = ChatCompletion['choices'][number];

/** One choice of a completion as the port carries it. */
function choiceOutput(choice: CompletionChoice): ChoiceOutput {
  const out: ChoiceOutput = {
    text: choice.message.content ?? '',
    finishReason: (choice.finish_reason ?? 'stop') as FinishReason,
    refusal: choice.message.refusal ?? null,
  };
  if (choice.message.tool_calls?.length) {
    out.toolCalls = choice.message.tool_calls
      .filter((t) => t.type === 'function')
      .map((t) => ({ id: t.id, type: 'function' as const, function: { name: t.function.name, arguments: t.function.arguments } }));
  }
  const logprobs = mapLogprobs(choice.logprobs?.content);
  if (logprobs) out.logprobs = logprobs;
  return out;
}

/** Reads a whole response body, re-arming the idle time-out on every chunk. */
async function readBody(response: Response, deadline: CallDeadline): Promise<string> {
  if (!response.body) return '';
  deadline.touch();
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    deadline.touch();
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/** The upstream's words, without credentials it may echo: they go to logs and pair records. */
function upstreamMessage(err: APIError): string {
  const body = err.error as { message?: unknown } | undefined;
  return scrubSecrets(body && typeof body.message === 'string' ? body.message : err.message);
}

function mapUsage(u: { prompt_tokens?: number; completion_tokens?: number } | null | undefined): Usage {
  if (!u) return { promptTokens: 0, completionTokens: 0 };
  return { promptTokens: u.prompt_tokens ?? 0, completionTokens: u.completion_tokens ?? 0, source: 'upstream' };
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
