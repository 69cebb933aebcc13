import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ReplayChatModel, parseJsonLines } from '../../src/adapters/local/replay-chat-model.js';
import { DistilleryError, UpstreamError } from '../../src/core/errors.js';

const questionsJsonl = readFileSync('data/mt_bench/question.jsonl', 'utf8');
const gpt4 = ReplayChatModel.fromMtBench({ id: 'gpt-4', questionsJsonl, answersJsonl: readFileSync('data/mt_bench/model_answer/gpt-4.jsonl', 'utf8') });
const recorded = parseJsonLines<{ question_id: number; choices: { turns: string[] }[] }>(readFileSync('data/mt_bench/model_answer/gpt-4.jsonl', 'utf8'), 'gpt-4');
const questions = parseJsonLines<{ question_id: number; turns: string[] }>(questionsJsonl, 'q');

describe('ReplayChatModel over MT-Bench', () => {
  it('answers turn 1 by prompt text and turn 2 from the conversation', async () => {
    const q = questions[0]!;
    const a = recorded.find((r) => r.question_id === q.question_id)!.choices[0]!.turns;
    const first = await gpt4.generate({ messages: [{ role: 'user', content: q.turns[0]! }] });
    expect(first.text).toBe(a[0]);
    expect(first.model).toBe('gpt-4');
    expect(first.usage.completionTokens).toBe(Math.ceil(a[0]!.length / 4));
    const second = await gpt4.generate({
      messages: [
        { role: 'user', content: q.turns[0]! },
        { role: 'assistant', content: first.text },
        { role: 'user', content: q.turns[1]! },
      ],
    });
    expect(second.text).toBe(a[1]);
  });

  it('answers by replay key in metadata and streams the same text', async () => {
    const r = recorded[5]!;
    const req = { messages: [{ role: 'user' as const, content: 'anything' }], metadata: { question_id: String(r.question_id) } };
    expect((await gpt4.generate(req)).text).toBe(r.choices[0]!.turns[0]);
    let streamed = '';
    let finished = false;
    for await (const e of gpt4.stream(req)) {
      if (e.type === 'delta') streamed += e.text;
      if (e.type === 'finish') finished = true;
    }
    expect(streamed).toBe(r.choices[0]!.turns[0]);
    expect(finished).toBe(true);
  });

  it('an unknown request is a non-retryable upstream 404; aborts and bad JSONL are typed', async () => {
    const err = await gpt4.generate({ messages: [{ role: 'user', content: 'never asked' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).upstreamStatus).toBe(404);
    expect((err as UpstreamError).retryable).toBe(false);
    const ac = new AbortController();
    ac.abort();
    await expect(gpt4.generate({ messages: [{ role: 'user', content: questions[0]!.turns[0]! }] }, { abortSignal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(() => ReplayChatModel.fromMtBench({ id: 'x', questionsJsonl: '{"question_id": 1', answersJsonl: '' })).toThrow(DistilleryError);
    expect(() => ReplayChatModel.fromMtBench({ id: 'x', questionsJsonl, answersJsonl: '{"question_id": 81}' })).toThrow(DistilleryError);
  });
});
