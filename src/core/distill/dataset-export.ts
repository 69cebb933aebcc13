import { messageText, type ChatMessage } from '../chat/chat-request-schema.js';
import type { DatasetExample, Split } from './dataset-builder.js';

// A built dataset in the formats fine-tuning tools read, one `{"messages": [...]}` line per
// example ending with the teacher's answer as the assistant turn. The three differ in what a line
// may hold:
//   openai    OpenAI / Azure OpenAI chat fine-tuning: role, content, name; assistant turns of the
//             prompt (earlier conversation) carry "weight": 0, so only the teacher's answer trains.
//   azure-ml  Azure ML chat-completion fine-tuning (Phi, Llama): role and content only, an optional
//             system message first, then user and assistant turns alternating (same-role turns
//             next to each other are joined), ending with the assistant.
//   messages  Hugging Face TRL SFTTrainer / Unsloth conversational data: role and content only,
//             the conversation as it was.

export const EXPORT_FORMATS = ['openai', 'azure-ml', 'messages'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

interface OutMessage {
  role: string;
  content: string;
  name?: string;
  weight?: 0;
}

// Fine-tuning files take text content; developer messages are system messages there.
const roleOf = (m: ChatMessage) => (m.role === 'developer' ? 'system' : m.role);

function openaiLine(e: DatasetExample): OutMessage[] {
  const prompt = e.messages.map((m): OutMessage => {
    const out: OutMessage = { role: roleOf(m), content: messageText(m) };
    if ('name' in m && m.name) out.name = m.name;
    if (out.role === 'assistant') out.weight = 0;
    return out;
  });
  return [...prompt, { role: 'assistant', content: e.target }];
}

function plainLine(e: DatasetExample): OutMessage[] {
  return [...e.messages.map((m) => ({ role: roleOf(m), content: messageText(m) })), { role: 'assistant', content: e.target }];
}

function azureMLLine(e: DatasetExample): OutMessage[] {
  const all = plainLine(e);
  const system = all.filter((m) => m.role === 'system').map((m) => m.content);
  const turns: OutMessage[] = [];
  for (const m of all) {
    if (m.role === 'system') continue;
    const last = turns.at(-1);
    if (last && last.role === m.role) last.content = `${last.content}\n\n${m.content}`;
    else turns.push({ role: m.role, content: m.content });
  }
  return system.length ? [{ role: 'system', content: system.join('\n\n') }, ...turns] : turns;
}

const LINE: Record<ExportFormat, (e: DatasetExample) => OutMessage[]> = { openai: openaiLine, 'azure-ml': azureMLLine, messages: plainLine };

/** The examples of `split` (all of them without one) as JSONL in `format`. */
export function exportDataset(examples: readonly DatasetExample[], format: ExportFormat, split?: Split): string {
  const chosen = split ? examples.filter((e) => e.split === split) : examples;
  return chosen.map((e) => JSON.stringify({ messages: LINE[format](e) })).join('\n') + (chosen.length ? '\n' : '');
}
