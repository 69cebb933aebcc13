import { z } from 'zod';

// The request body of POST /v1/chat/completions, as OpenAI defines it. Unknown top-level fields
// are tolerated (zod strips them) because OpenAI adds fields often and clients send them.
// Limits follow OpenAI's published ones where it has them.

export const METADATA_MAX_KEYS = 16;
export const METADATA_MAX_KEY_LENGTH = 64;
export const METADATA_MAX_VALUE_LENGTH = 512;
export const MAX_MESSAGES = 2048;

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const audioPart = z.object({
  type: z.literal('input_audio'),
  input_audio: z.object({ data: z.string(), format: z.enum(['wav', 'mp3']) }),
});
const filePart = z.object({
  type: z.literal('file'),
  file: z.object({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
});
const refusalPart = z.object({ type: z.literal('refusal'), refusal: z.string() });

const userContentPart = z.discriminatedUnion('type', [textPart, imagePart, audioPart, filePart]);
const assistantContentPart = z.discriminatedUnion('type', [textPart, refusalPart]);

const name = z.string().min(1).max(64).optional();

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

export const chatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.union([z.string(), z.array(textPart).min(1)]), name }),
  z.object({ role: z.literal('developer'), content: z.union([z.string(), z.array(textPart).min(1)]), name }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(userContentPart).min(1)]), name }),
  z
    .object({
      role: z.literal('assistant'),
      content: z.union([z.string(), z.array(assistantContentPart), z.null()]).optional(),
      refusal: z.string().nullable().optional(),
      tool_calls: z.array(toolCall).optional(),
      name,
    })
    .refine((m) => (m.content !== undefined && m.content !== null) || (m.tool_calls?.length ?? 0) > 0, {
      message: 'An assistant message needs content or tool_calls.',
      path: ['content'],
    }),
  z.object({ role: z.literal('tool'), content: z.union([z.string(), z.array(textPart).min(1)]), tool_call_id: z.string() }),
]);

const metadataSchema = z
  .record(z.string().max(METADATA_MAX_KEY_LENGTH), z.string().max(METADATA_MAX_VALUE_LENGTH))
  .refine((m) => Object.keys(m).length <= METADATA_MAX_KEYS, {
    message: `metadata may hold at most ${METADATA_MAX_KEYS} key-value pairs.`,
  });

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

const tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().min(1).max(64),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

export const chatCompletionRequestSchema = z
  .object({
    model: z.string().min(1).max(256),
    messages: z.array(chatMessageSchema).min(1).max(MAX_MESSAGES),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    max_tokens: z.number().int().min(1).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    /** Choices to generate (OpenAI allows up to 128); classifier students refuse n > 1 (classifier-options.ts). */
    n: z.number().int().min(1).max(128).nullable().optional(),
    stop: z.union([z.string(), z.array(z.string()).max(4), z.null()]).optional(),
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullable().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    response_format: responseFormat.optional(),
    seed: z.number().int().nullable().optional(),
    tools: z.array(tool).max(128).optional(),
    tool_choice: z
      .union([
        z.enum(['none', 'auto', 'required']),
        z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
      ])
      .optional(),
    parallel_tool_calls: z.boolean().optional(),
    user: z.string().max(256).optional(),
    metadata: metadataSchema.nullable().optional(),
    store: z.boolean().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    reasoning_effort: z.enum(['minimal', 'low', 'medium', 'high']).nullable().optional(),
    service_tier: z.string().nullable().optional(),
  })
  .refine((r) => !(r.top_logprobs != null && r.top_logprobs > 0 && !r.logprobs), {
    message: 'top_logprobs requires logprobs to be true.',
    path: ['top_logprobs'],
  })
  .refine((r) => r.stream_options == null || r.stream === true, {
    message: 'stream_options is only allowed when stream is true.',
    path: ['stream_options'],
  });

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Plain text of a message's content (text parts joined), used by classifiers, redaction and metrics. */
export function messageText(message: ChatMessage): string {
  const content = 'content' in message ? message.content : undefined;
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => (part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : ''))
    .filter(Boolean)
    .join('\n');
}

/** The last user message's text: the "prompt" that datasets de-duplicate and students classify. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'user') return messageText(m);
  }
  return '';
}
