import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIChatModel } from '../../src/adapters/openai/openai-chat-model.js';
import { DistilleryError } from '../../src/core/errors.js';
import { judgePair, judgePairs, parseVerdict, summarizeJudgements } from '../../src/core/eval/pairwise-judge.js';
import { startFakeOpenAIServer, type FakeOpenAIServer, type FakeRequest } from '../fixtures/fake-openai-server.js';

// The judge is a real HTTP server on 127.0.0.1 speaking the chat-completions wire format, reached
// through the project's OpenAI adapter. Its "opinion" is scripted from the prompt it receives.

function answers(req: FakeRequest): { a: string; b: string } {
  const user = req.body.messages.find((m: { role: string }) => m.role === 'user').content as string;
  const a = /\[The Start of Assistant A's Answer\]\n([\s\S]*?)\n\[The End of Assistant A's Answer\]/.exec(user)![1]!;
  const b = /\[The Start of Assistant B's Answer\]\n([\s\S]*?)\n\[The End of Assistant B's Answer\]/.exec(user)![1]!;
  return { a, b };
}

let fair: FakeOpenAIServer;
let biased: FakeOpenAIServer;
let rambling: FakeOpenAIServer;
const model = (server: FakeOpenAIServer, id: string) =>
  new OpenAIChatModel({ id, model: id, maxRetries: 0, client: new OpenAI({ baseURL: server.baseURL, apiKey: 'test', maxRetries: 0 }) });

beforeAll(async () => {
  // Prefers the answer that says "42"; a tie when both or neither do. Mentions the format first,
  // as real judges sometimes do, so the last verdict must win.
  fair = await startFakeOpenAIServer({
    answer: (req) => {
      const { a, b } = answers(req);
      const va = a.includes('42');
      const vb = b.includes('42');
      const verdict = va === vb ? '[[C]]' : va ? '[[A]]' : '[[B]]';
      return { text: `Using the format [[A]]/[[B]]/[[C]]: ${va ? 'A is right' : 'A is wrong'}.\n${verdict}`, promptTokens: 100, completionTokens: 20 };
    },
  });
  // Always picks the first answer: position bias that judging both orders must cancel.
  biased = await startFakeOpenAIServer({ answer: () => ({ text: 'A reads better. [[A]]', promptTokens: 50, completionTokens: 5 }) });
  rambling = await startFakeOpenAIServer({ answer: () => ({ text: 'Both have merits.' }) });
});

afterAll(async () => {
  await Promise.all([fair.close(), biased.close(), rambling.close()]);
});

describe('parseVerdict', () => {
  it('reads the last MT-Bench verdict token', () => {
    expect(parseVerdict('... [[B]]')).toBe('B');
    expect(parseVerdict('format "[[A]]" or "[[B]]"; final: [[C]]')).toBe('C');
    expect(parseVerdict('no verdict [A]')).toBeNull();
  });
});

describe('pairwise judge over the OpenAI wire format', () => {
  it('names the better arm when both orders agree', async () => {
    const judge = model(fair, 'judge-fair');
    const student = await judgePair(judge, { question: 'What is 6 x 7?', studentAnswer: 'It is 42.', teacherAnswer: 'It is 48.' });
    expect(student.verdict).toBe('student');
    expect(student.consistent).toBe(true);
    expect(student.rounds.map((r) => r.slot)).toEqual(['A', 'B']);
    expect(student.usage).toEqual({ promptTokens: 200, completionTokens: 40 });
    const teacher = await judgePair(judge, { question: 'What is 6 x 7?', studentAnswer: '48', teacherAnswer: '42' });
    expect(teacher.verdict).toBe('teacher');
    const tie = await judgePair(judge, { question: 'q', studentAnswer: '42', teacherAnswer: 'yes, 42' });
    expect(tie).toMatchObject({ verdict: 'tie', consistent: true });
  });

  it('cancels position bias: a judge that always says [[A]] yields an inconsistent tie', async () => {
    const j = await judgePair(model(biased, 'judge-biased'), { question: 'q', studentAnswer: 's', teacherAnswer: 't' });
    expect(j.verdict).toBe('tie');
    expect(j.consistent).toBe(false);
    expect(j.rounds.map((r) => r.winner).sort()).toEqual(['student', 'teacher']);
    // Each request carried the answers in swapped positions.
    const positions = biased.requests.slice(-2).map((r) => answers(r).a).sort();
    expect(positions).toEqual(['s', 't']);
  });

  it('an unreadable verdict or a failing judge is an error verdict, not a crash', async () => {
    const j = await judgePair(model(rambling, 'judge-rambling'), { question: 'q', studentAnswer: 's', teacherAnswer: 't' });
    expect(j.verdict).toBe('error');
    expect(j.rounds[0]!.error).toMatch(/verdict/);
    const closed = await startFakeOpenAIServer({ fault: () => ({ kind: 'status', status: 500 }) });
    const failing = await judgePair(model(closed, 'judge-down'), { question: 'q', studentAnswer: 's', teacherAnswer: 't' });
    await closed.close();
    expect(failing.verdict).toBe('error');
    expect(failing.rounds[0]!.error).toBeTruthy();
    await expect(judgePair(model(fair, 'x'), { question: 'q', studentAnswer: 1 as never, teacherAnswer: 't' })).rejects.toBeInstanceOf(DistilleryError);
  });

  it('judges a batch and summarizes wins, ties and a Wilson interval', async () => {
    const inputs = [
      ...Array.from({ length: 6 }, () => ({ question: 'q', studentAnswer: '42', teacherAnswer: '41' })),
      ...Array.from({ length: 2 }, () => ({ question: 'q', studentAnswer: '40', teacherAnswer: '42' })),
      ...Array.from({ length: 2 }, () => ({ question: 'q', studentAnswer: '42', teacherAnswer: '42' })),
    ];
    const judgements = await judgePairs(model(fair, 'judge-fair'), inputs, { concurrency: 3 });
    const s = summarizeJudgements(judgements);
    expect([s.judged, s.studentWins, s.teacherWins, s.ties, s.errors]).toEqual([10, 6, 2, 2, 0]);
    expect(s.studentWinRate).toBeCloseTo(0.7, 12);
    expect(s.studentWinOrTie.estimate).toBeCloseTo(0.8, 12);
    expect(s.studentWinOrTie.lower).toBeLessThan(0.8);
    expect(s.usage.promptTokens).toBe(2000);
  });
});
