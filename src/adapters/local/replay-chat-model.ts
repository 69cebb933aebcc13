import type { CallOptions, ChatModelRequest, ChatModelResult, ChatStreamEvent } from '../../core/chat/chat-model-types.js';
import { messageText } from '../../core/chat/chat-request-schema.js';
import { countChatUsage, estimateTokenCount } from '../../core/chat/chat-token-count.js';
import { invalidRequest, UpstreamError } from '../../core/errors.js';
import type { ChatModel } from '../../core/ports.js';

// A ChatModel that answers with recorded outputs instead of running a model, so real teacher and
// student outputs (MT-Bench's published answers, a frozen evaluation run) can go through the same
// code paths as live models. A request is matched to its recording by `metadata.replay_key` (or
// `metadata.question_id`), else by the text of its first user message; the turn is the number of
// user messages so far. Token usage is not recorded in these sets, so it is estimated at four
// characters per token.

export interface ReplayChatModelOptions {
  id: string;
  hosting?: 'remote' | 'in-process';
  /** One recorded answer per turn, by key. */
  answers: ReadonlyMap<string, readonly string[]>;
  /** First-turn prompt text → key, for requests that carry no replay key. */
  prompts?: ReadonlyMap<string, string>;
  /** The model name to report (defaults to the id). */
  model?: string;
  /** Characters per streamed delta. */
  streamChunkSize?: number;
}

export interface MtBenchQuestion {
  question_id: number;
  category: string;
  turns: string[];
}


function abortError(): Error {
  const err = new Error('The operation was aborted.');
  err.name = 'AbortError';
  return err;
}

/** Parses JSON Lines; a malformed line is a typed 400 naming the line. */
export function parseJsonLines<T>(text: string, source: string): T[] {
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      throw invalidRequest(`${source} line ${i + 1} is not valid JSON.`, source, 'invalid_jsonl');
    }
  });
  return out;
}

export class ReplayChatModel implements ChatModel {
  readonly id: string;
  readonly hosting: 'remote' | 'in-process';
  private readonly answers: ReadonlyMap<string, readonly string[]>;
  private readonly prompts: ReadonlyMap<string, string>;
  private readonly model: string;
  private readonly chunkSize: number;

  constructor(options: ReplayChatModelOptions) {
    this.id = options.id;
    this.hosting = options.hosting ?? 'remote';
    this.answers = options.answers;
    this.prompts = options.prompts ?? new Map();
    this.model = options.model ?? options.id;
    this.chunkSize = Math.max(1, options.streamChunkSize ?? 16);
  }

  /** A replay model over MT-Bench's `question.jsonl` and one `model_answer/*.jsonl`. */
  static fromMtBench(options: { id: string; questionsJsonl: string; answersJsonl: string; hosting?: 'remote' | 'in-process' }): ReplayChatModel {
    const questions = parseJsonLines<MtBenchQuestion>(options.questionsJsonl, 'question.jsonl');
    const answers = new Map<string, string[]>();
    for (const a of parseJsonLines<{ question_id: number; choices?: { turns?: string[] }[] }>(options.answersJsonl, 'model_answer')) {
      const turns = a.choices?.[0]?.turns;
      if (typeof a.question_id !== 'number' || !Array.isArray(turns) || turns.some((t) => typeof t !== 'string')) {
        throw invalidRequest(`Answer for question ${String(a.question_id)} has no turns.`, 'model_answer', 'invalid_jsonl');
      }
      answers.set(String(a.question_id), turns);
    }
    const prompts = new Map(questions.filter((q) => typeof q.turns?.[0] === 'string').map((q) => [q.turns[0]!, String(q.question_id)]));
    return new ReplayChatModel({ id: options.id, hosting: options.hosting, answers, prompts });
  }

  /** The recorded answer for a request, or undefined. */
  lookup(request: ChatModelRequest): string | undefined {
    const users = request.messages.filter((m) => m.role === 'user');
    const key = request.metadata?.replay_key ?? request.metadata?.question_id ?? (users[0] ? this.prompts.get(messageText(users[0])) : undefined);
    if (key === undefined) return undefined;
    return this.answers.get(key)?.[Math.max(0, users.length - 1)];
  }

  private answer(request: ChatModelRequest, options: CallOptions | undefined): ChatModelResult {
    if (options?.abortSignal?.aborted) throw abortError();
    const text = this.lookup(request);
    if (text === undefined) {
      throw new UpstreamError(this.id, 'no recorded answer for this request', { upstreamStatus: 404, retryable: false });
    }
    return {
      model: this.model,
      text,
      finishReason: 'stop',
      usage: countChatUsage(request.messages, text, estimateTokenCount, 'estimated'),
    };
  }

  async generate(request: ChatModelRequest, options?: CallOptions): Promise<ChatModelResult> {
    return this.answer(request, options);
  }

  async *stream(request: ChatModelRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent> {
    const result = this.answer(request, options);
    for (let i = 0; i < result.text.length; i += this.chunkSize) {
      if (options?.abortSignal?.aborted) throw abortError();
      yield { type: 'delta', text: result.text.slice(i, i + this.chunkSize) };
    }
    yield { type: 'finish', finishReason: 'stop', usage: result.usage, model: result.model };
  }
}
