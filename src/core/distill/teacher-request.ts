import type { ChatModelRequest } from '../chat/chat-model-types.js';
import type { ChatMessage } from '../chat/chat-request-schema.js';
import { labelsOf, type DatasetRow, type DistillationSpec } from './distillation-spec.js';
import { wantsSoftLabels } from './soft-labels.js';
import { taskTypeSettings } from './task-types.js';

// What stage 1 asks the teacher for one row of a spec (the chunk worker, and the preflight's
// sample inference, which must ask exactly the same).

export function teacherRequest(spec: DistillationSpec, row: DatasetRow): ChatModelRequest {
  const labels = labelsOf(spec);
  const settings = taskTypeSettings(spec.task_type, {
    ...(labels ? { labels } : {}),
    chainOfThought: spec.prompt_settings.enable_chain_of_thought,
    maxSummaryWords: spec.prompt_settings.max_len_summary,
  });
  const hasSystem = row.messages.some((m) => m.role === 'system' || m.role === 'developer');
  const messages: ChatMessage[] = hasSystem ? row.messages : [{ role: 'system', content: settings.systemPrompt }, ...row.messages];
  const p = spec.teacher_settings.inference_parameters;
  const soft = wantsSoftLabels(spec);
  return {
    messages,
    ...(soft ? { logprobs: true, top_logprobs: 5 } : {}),
    temperature: p.temperature,
    top_p: p.top_p,
    max_tokens: p.max_tokens,
    ...(p.frequency_penalty !== undefined ? { frequency_penalty: p.frequency_penalty } : {}),
    ...(p.presence_penalty !== undefined ? { presence_penalty: p.presence_penalty } : {}),
    ...(p.stop ? { stop: p.stop } : {}),
  } as ChatModelRequest;
}
