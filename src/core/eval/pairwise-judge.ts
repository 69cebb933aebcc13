import type { CallOptions, Usage } from '../chat/chat-model-types.js';
import { invalidRequest, isAbortError } from '../errors.js';
import type { ChatModel } from '../ports.js';
import { wilsonInterval, type Interval } from './statistics.js';

// LLM-as-judge, MT-Bench style: a judge model compares two answers to the same question and ends
// with "[[A]]", "[[B]]" or "[[C]]" (tie). Judges favour a position, so every pair is judged twice
// with the answers swapped; a winner counts only when both orders agree, any disagreement is a tie
// (flagged `consistent: false`), and an unreadable verdict in either order is an error.

export const PAIRWISE_JUDGE_SYSTEM_PROMPT = [
  'You are an impartial judge. Compare the two AI assistant answers to the user question shown below',
  'and decide which one answers it better. Weigh helpfulness, relevance, accuracy, depth and level of',
  'detail. Do not let the order of the answers, their length or the assistants\' names sway you.',
  'Explain your comparison briefly, then give your final verdict on the last line in exactly this',
  'format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, "[[C]]" for a tie.',
].join(' ');

export type VerdictSlot = 'A' | 'B' | 'C';
export type ArmVerdict = 'student' | 'teacher' | 'tie';

export interface JudgeRound {
  order: 'student_first' | 'teacher_first';
  raw: string;
  slot: VerdictSlot | null;
  winner: ArmVerdict | null;
  error?: string;
}

export interface PairwiseJudgement {
  verdict: ArmVerdict | 'error';
  /** Whether both orders named the same winner (or both a tie). */
  consistent: boolean;
  rounds: JudgeRound[];
  usage: Usage;
}

export interface PairwiseInput {
  question: string;
  studentAnswer: string;
  teacherAnswer: string;
  /** Earlier turns or a reference answer the judge should see. */
  context?: string;
}

const VERDICT = /\[\[([ABC])\]\]/g;

/** The verdict slot in a judge's text: the last of [[A]]/[[B]]/[[C]] (the final line wins over any quoted format). */
export function parseVerdict(text: string): VerdictSlot | null {
  let last: VerdictSlot | null = null;
  for (const m of text.matchAll(VERDICT)) last = m[1] as VerdictSlot;
  return last;
}

function userPrompt(input: PairwiseInput, first: string, second: string): string {
  return [
    ...(input.context ? [`[Context]\n${input.context}\n`] : []),
    `[User Question]\n${input.question}\n`,
    `[The Start of Assistant A's Answer]\n${first}\n[The End of Assistant A's Answer]\n`,
    `[The Start of Assistant B's Answer]\n${second}\n[The End of Assistant B's Answer]`,
  ].join('\n');
}

async function judgeOnce(
  judge: ChatModel,
  input: PairwiseInput,
  order: JudgeRound['order'],
  options: CallOptions & { systemPrompt?: string; maxTokens?: number },
): Promise<{ round: JudgeRound; usage: Usage }> {
  const studentFirst = order === 'student_first';
  const [first, second] = studentFirst ? [input.studentAnswer, input.teacherAnswer] : [input.teacherAnswer, input.studentAnswer];
  try {
    const result = await judge.generate(
      {
        messages: [
          { role: 'system', content: options.systemPrompt ?? PAIRWISE_JUDGE_SYSTEM_PROMPT },
          { role: 'user', content: userPrompt(input, first, second) },
        ],
        temperature: 0,
        max_tokens: options.maxTokens ?? 2048,
      },
      { abortSignal: options.abortSignal, timeoutInMs: options.timeoutInMs },
    );
    const slot = parseVerdict(result.text);
    const winner: ArmVerdict | null =
      slot === null ? null : slot === 'C' ? 'tie' : (slot === 'A') === studentFirst ? 'student' : 'teacher';
    return {
      round: { order, raw: result.text, slot, winner, ...(slot === null ? { error: 'no [[A]]/[[B]]/[[C]] verdict in the judge output' } : {}) },
      usage: result.usage,
    };
  } catch (err) {
    if (isAbortError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    return { round: { order, raw: '', slot: null, winner: null, error: message }, usage: { promptTokens: 0, completionTokens: 0 } };
  }
}

/** Judges one student/teacher pair in both orders. */
export async function judgePair(
  judge: ChatModel,
  input: PairwiseInput,
  options: CallOptions & { systemPrompt?: string; maxTokens?: number } = {},
): Promise<PairwiseJudgement> {
  for (const k of ['question', 'studentAnswer', 'teacherAnswer'] as const) {
    if (typeof input?.[k] !== 'string') throw invalidRequest(`Pairwise judging needs a string ${k}.`, k, 'invalid_judge_input');
  }
  // Both orders run concurrently: they are independent calls.
  const [a, b] = await Promise.all([
    judgeOnce(judge, input, 'student_first', options),
    judgeOnce(judge, input, 'teacher_first', options),
  ]);
  const usage = {
    promptTokens: a.usage.promptTokens + b.usage.promptTokens,
    completionTokens: a.usage.completionTokens + b.usage.completionTokens,
  };
  const rounds = [a.round, b.round];
  if (a.round.winner === null || b.round.winner === null) return { verdict: 'error', consistent: false, rounds, usage };
  const consistent = a.round.winner === b.round.winner;
  return { verdict: consistent ? a.round.winner : 'tie', consistent, rounds, usage };
}

/** Judges many pairs with bounded concurrency, in input order. */
export async function judgePairs(
  judge: ChatModel,
  inputs: readonly PairwiseInput[],
  options: CallOptions & { systemPrompt?: string; maxTokens?: number; concurrency?: number } = {},
): Promise<PairwiseJudgement[]> {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const out = new Array<PairwiseJudgement>(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      out[i] = await judgePair(judge, inputs[i]!, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
  return out;
}

export interface JudgementSummary {
  judged: number;
  studentWins: number;
  teacherWins: number;
  ties: number;
  inconsistent: number;
  errors: number;
  /** (wins + ties/2) / judged, without errors: 0.5 means the judge cannot tell them apart. */
  studentWinRate: number;
  /** Share of judged pairs the student won or tied, with a Wilson interval. */
  studentWinOrTie: Interval;
  usage: Usage;
}

export function summarizeJudgements(judgements: readonly PairwiseJudgement[], confidence = 0.95): JudgementSummary {
  let studentWins = 0;
  let teacherWins = 0;
  let ties = 0;
  let inconsistent = 0;
  let errors = 0;
  const usage = { promptTokens: 0, completionTokens: 0 };
  for (const j of judgements) {
    usage.promptTokens += j.usage.promptTokens;
    usage.completionTokens += j.usage.completionTokens;
    if (j.verdict === 'error') {
      errors++;
      continue;
    }
    if (!j.consistent) inconsistent++;
    if (j.verdict === 'student') studentWins++;
    else if (j.verdict === 'teacher') teacherWins++;
    else ties++;
  }
  const judged = studentWins + teacherWins + ties;
  return {
    judged,
    studentWins,
    teacherWins,
    ties,
    inconsistent,
    errors,
    studentWinRate: judged > 0 ? (studentWins + ties / 2) / judged : Number.NaN,
    studentWinOrTie: wilsonInterval(studentWins + ties, judged, confidence),
    usage,
  };
}

