import { describe, expect, it } from 'vitest';
import type { ChatModelRequest, ChatModelResult, ChatStreamEvent } from '../../src/core/chat/chat-model-types.js';
import { chatCompletionRequestSchema } from '../../src/core/chat/chat-request-schema.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import type { ChatModel } from '../../src/core/ports.js';
import { ChatGateway } from '../../src/core/routing/chat-gateway.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';

// Issue 19: a student pair no longer carries the student's whole label distribution (read by
// nothing, and most of the record's bytes: 150 numbers for CLINC150); a teacher's distribution is
// a soft label for training and stays.

const labels = Array.from({ length: 150 }, (_, i) => `intent_${i}`);
const distribution = Object.fromEntries(labels.map((l, i) => [l, i === 3 ? 0.9 : 0.1 / 149]));

function classifier(id: string): ChatModel {
  return {
    id,
    hosting: 'in-process',
    async generate(_req: ChatModelRequest): Promise<ChatModelResult> {
      return { model: id, text: 'intent_3', finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 1 }, confidence: 0.9, labelProbabilities: { ...distribution } };
    },
    async *stream(): AsyncIterable<ChatStreamEvent> {
      yield { type: 'finish', finishReason: 'stop', model: id };
    },
  };
}

describe('pair record of a classifier exchange', () => {
  it('keeps the teacher’s label distribution and the student’s confidence, not the student’s distribution', async () => {
    const pairs: PairRecord[] = [];
    const config = taskSchema.parse({ name: 't', teacher: 'teacher', student: { source: 'model', model: 's' }, routing: { policy: { type: 'shadow', serve: 'student' } } });
    const gateway = new ChatGateway({
      models: { teacher: () => classifier('teacher'), student: async () => classifier('student') },
      pairs: { enqueue: (p) => (pairs.push(p), true) },
      clock: { now: () => Date.parse('2026-01-01T00:00:00Z') },
      random: () => 0,
    });
    const served = await gateway.complete({
      requestId: 'r1',
      tenant: 'acme',
      task: { config },
      request: chatCompletionRequestSchema.parse({ model: 't', messages: [{ role: 'user', content: 'balance?' }] }),
    });
    // The answer itself is untouched.
    expect(Object.keys(served.result.labelProbabilities!)).toHaveLength(150);
    await served.logged;
    expect(pairs).toHaveLength(1);
    expect(pairs[0]!.teacher!.labelProbabilities).toEqual(distribution);
    expect(pairs[0]!.student!.labelProbabilities).toBeUndefined();
    expect(pairs[0]!.student!.confidence).toBe(0.9);
  });
});

describe('the student’s label distribution is never built on a served request', () => {
  it('the gateway does not read labelProbabilities of the student arm (built lazily by the ONNX student)', async () => {
    let reads = 0;
    const lazyStudent: ChatModel = {
      id: 'student',
      hosting: 'in-process',
      async generate(): Promise<ChatModelResult> {
        const result = { model: 'student', text: 'intent_3', finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 1 }, confidence: 0.9 } as ChatModelResult;
        Object.defineProperty(result, 'labelProbabilities', { enumerable: true, get: () => (reads++, { ...distribution }) });
        return result;
      },
      async *stream(): AsyncIterable<ChatStreamEvent> {
        yield { type: 'finish', finishReason: 'stop', model: 'student' };
      },
    };
    const pairs: PairRecord[] = [];
    const config = taskSchema.parse({ name: 't', teacher: 'teacher', student: { source: 'model', model: 's' }, routing: { policy: { type: 'pinned', arm: 'student' } } });
    const gateway = new ChatGateway({
      models: { teacher: () => classifier('teacher'), student: async () => lazyStudent },
      pairs: { enqueue: (p) => (pairs.push(p), true) },
      clock: { now: () => Date.parse('2026-01-01T00:00:00Z') },
      random: () => 0,
    });
    const served = await gateway.complete({
      requestId: 'r2',
      tenant: 'acme',
      task: { config },
      request: chatCompletionRequestSchema.parse({ model: 't', messages: [{ role: 'user', content: 'balance?' }] }),
    });
    await served.logged;
    expect(served.arm).toBe('student');
    expect(pairs).toHaveLength(1);
    expect(reads).toBe(0);
  });
});
