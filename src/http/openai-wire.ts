import type { ChatModelResult, ChatStreamEvent, ChoiceOutput, TokenLogprob, Usage } from '../core/chat/chat-model-types.js';

// Our results in OpenAI's chat-completions wire format (chat.completion and
// chat.completion.chunk objects), so any OpenAI client can call Distillery unchanged.

const wireLogprobs = (lp: readonly TokenLogprob[]) => ({
  content: lp.map((l) => ({
    token: l.token,
    logprob: l.logprob,
    bytes: Array.from(Buffer.from(l.token, 'utf8')),
    top_logprobs: (l.topLogprobs ?? []).map((t) => ({ token: t.token, logprob: t.logprob, bytes: Array.from(Buffer.from(t.token, 'utf8')) })),
  })),
  refusal: null,
});

const wireUsage = (u: Usage) => ({
  prompt_tokens: u.promptTokens,
  completion_tokens: u.completionTokens,
  total_tokens: u.promptTokens + u.completionTokens,
});

const wireChoice = (index: number, c: ChoiceOutput, includeLogprobs: boolean) => ({
  index,
  message: {
    role: 'assistant' as const,
    content: c.toolCalls?.length && !c.text ? null : c.text,
    refusal: c.refusal ?? null,
    ...(c.toolCalls?.length ? { tool_calls: c.toolCalls } : {}),
  },
  logprobs: includeLogprobs && c.logprobs ? wireLogprobs(c.logprobs) : null,
  finish_reason: c.finishReason,
});

export function completionBody(id: string, created: number, result: ChatModelResult, includeLogprobs: boolean) {
  const choices = [wireChoice(0, result, includeLogprobs)];
  if (result.extraChoices) result.extraChoices.forEach((c, i) => choices.push(wireChoice(i + 1, c, includeLogprobs)));
  return {
    id,
    object: 'chat.completion' as const,
    created,
    model: result.model,
    system_fingerprint: null,
    choices,
    usage: wireUsage(result.usage),
  };
}

/** Turns model stream events into SSE `data:` lines; the role chunk first, usage chunk last. */
export class ChunkEncoder {
  private model: string;
  private sentRole = false;
  /** Choices above 0 that had their role chunk (n > 1 only). */
  private rolesSent?: Set<number>;

  constructor(
    private readonly id: string,
    private readonly created: number,
    initialModel: string,
    private readonly includeUsage: boolean,
    private readonly includeLogprobs: boolean,
  ) {
    this.model = initialModel;
  }

  private chunk(delta: Record<string, unknown>, finishReason: string | null, logprobs: unknown = null, index = 0) {
    return `data: ${JSON.stringify({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      system_fingerprint: null,
      choices: [{ index, delta, logprobs, finish_reason: finishReason }],
      ...(this.includeUsage ? { usage: null } : {}),
    })}\n\n`;
  }

  /** Choice 0's role chunk leads the stream; another choice's leads its first event. */
  private roleChunk(choice: number): string {
    if (choice === 0) {
      if (this.sentRole) return '';
      this.sentRole = true;
    } else {
      this.rolesSent ??= new Set();
      if (this.rolesSent.has(choice)) return '';
      this.rolesSent.add(choice);
    }
    return this.chunk({ role: 'assistant', content: '', refusal: null }, null, null, choice);
  }

  encode(ev: ChatStreamEvent): string {
    const choice = ev.type === 'finish' ? 0 : (ev.choice ?? 0);
    let out = this.roleChunk(0) + (choice ? this.roleChunk(choice) : '');
    switch (ev.type) {
      case 'delta':
        return out + this.chunk({ content: ev.text }, null, null, choice);
      case 'choice_finish':
        return out + this.chunk({}, ev.finishReason, null, choice);
      case 'tool_call_delta':
        return (
          out +
          this.chunk(
            {
              tool_calls: [
                {
                  index: ev.index,
                  ...(ev.id ? { id: ev.id, type: 'function' } : {}),
                  function: { ...(ev.name ? { name: ev.name } : {}), ...(ev.arguments ? { arguments: ev.arguments } : {}) },
                },
              ],
            },
            null,
            null,
            choice,
          )
        );
      case 'logprobs':
        return this.includeLogprobs ? out + this.chunk({}, null, wireLogprobs(ev.logprobs), choice) : out;
      case 'finish': {
        this.model = ev.model;
        out += this.chunk({}, ev.finishReason);
        if (this.includeUsage) {
          out += `data: ${JSON.stringify({
            id: this.id,
            object: 'chat.completion.chunk',
            created: this.created,
            model: this.model,
            system_fingerprint: null,
            choices: [],
            usage: wireUsage(ev.usage ?? { promptTokens: 0, completionTokens: 0 }),
          })}\n\n`;
        }
        return out;
      }
    }
  }
}
