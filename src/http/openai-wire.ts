import type { ChatModelResult, ChatStreamEvent, TokenLogprob, Usage } from '../core/chat/chat-model-types.js';

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

export function completionBody(id: string, created: number, result: ChatModelResult, includeLogprobs: boolean) {
  return {
    id,
    object: 'chat.completion' as const,
    created,
    model: result.model,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: result.toolCalls?.length && !result.text ? null : result.text,
          refusal: result.refusal ?? null,
          ...(result.toolCalls?.length ? { tool_calls: result.toolCalls } : {}),
        },
        logprobs: includeLogprobs && result.logprobs ? wireLogprobs(result.logprobs) : null,
        finish_reason: result.finishReason,
      },
    ],
    usage: wireUsage(result.usage),
  };
}

/** Turns model stream events into SSE `data:` lines; the role chunk first, usage chunk last. */
export class ChunkEncoder {
  private model: string;
  private sentRole = false;

  constructor(
    private readonly id: string,
    private readonly created: number,
    initialModel: string,
    private readonly includeUsage: boolean,
    private readonly includeLogprobs: boolean,
  ) {
    this.model = initialModel;
  }

  private chunk(delta: Record<string, unknown>, finishReason: string | null, logprobs: unknown = null, usage?: unknown) {
    return `data: ${JSON.stringify({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs, finish_reason: finishReason }],
      ...(this.includeUsage ? { usage: usage ?? null } : {}),
    })}\n\n`;
  }

  encode(ev: ChatStreamEvent): string {
    let out = '';
    if (!this.sentRole) {
      this.sentRole = true;
      out += this.chunk({ role: 'assistant', content: '', refusal: null }, null);
    }
    switch (ev.type) {
      case 'delta':
        return out + this.chunk({ content: ev.text }, null);
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
          )
        );
      case 'logprobs':
        return this.includeLogprobs ? out + this.chunk({}, null, wireLogprobs(ev.logprobs)) : out;
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
