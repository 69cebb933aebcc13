import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { sentenceChrf } from './core/eval/chrf.js';
import { summarizeLatencies } from './core/eval/latency-summary.js';
import { mcnemarFromPairs, wilsonInterval } from './core/eval/statistics.js';

// `distillery eval`: an offline comparison through a running Distillery. Every row is sent twice
// with the admin-only x-distillery-force-arm header — once to the teacher, once to the student —
// with store: false so evaluation traffic never becomes training data. Agreement is exact match
// of the two answers (chrF for long answers is reported too); accuracy uses the row's label.

interface Row {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  reference?: string;
}

/** A failure the CLI maps to an exit code of its own (cli.ts reads `exitCode`): 2 bad input, 3 the API refused. */
export class EvalError extends Error {
  constructor(
    message: string,
    readonly exitCode: 2 | 3,
  ) {
    super(message);
  }
}

/** The dataset file, or a sentence naming it (never a raw ENOENT). */
export function readEvalDataset(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : code === 'EACCES' ? 'is not readable' : (err as Error).message;
    throw new EvalError(`--dataset ${file} ${why}.`, 2);
  }
}

export function parseEvalRows(jsonl: string, limit?: number, file = 'dataset'): Row[] {
  const rows: Row[] = [];
  for (const [i, line] of jsonl.split('\n').entries()) {
    if (!line.trim()) continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new EvalError(`${file} line ${i + 1}: not JSON (${(err as Error).message}).`, 2);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new EvalError(`${file} line ${i + 1}: expected a JSON object.`, 2);
    const messages = Array.isArray(raw.messages)
      ? (raw.messages as Row['messages']).filter((m) => m.role !== 'assistant')
      : typeof raw.prompt === 'string'
        ? [{ role: 'user' as const, content: raw.prompt }]
        : undefined;
    if (!messages) throw new EvalError(`${file} line ${i + 1}: needs "messages" or "prompt".`, 2);
    const reference = [raw.label, raw.reference, raw.answer].find((v) => typeof v === 'string') as string | undefined;
    rows.push({ messages, ...(reference !== undefined ? { reference } : {}) });
    if (limit !== undefined && rows.length >= limit) break;
  }
  return rows;
}

export async function runOfflineEval(o: { url: string; key: string; task: string; dataset: string; datasetName?: string; limit?: number; concurrency?: number }) {
  const rows = parseEvalRows(o.dataset, o.limit, o.datasetName);
  if (rows.length === 0) throw new EvalError(`${o.datasetName ?? 'dataset'} has no rows.`, 2);
  try {
    return await evaluateRows(o, rows);
  } catch (err) {
    // The API's refusal (unknown task, bad key) is exit 3 like every other API command.
    if (err instanceof OpenAI.APIError && err.status !== undefined) throw new EvalError(`HTTP ${err.status}: ${(err.error as { message?: string } | undefined)?.message ?? err.message}`, 3);
    if (err instanceof OpenAI.APIConnectionError) throw new EvalError(`Cannot reach ${o.url}: ${err.message}`, 3);
    throw err;
  }
}

async function evaluateRows(o: { url: string; key: string; task: string; concurrency?: number }, rows: Row[]) {
  const client = new OpenAI({ baseURL: `${o.url.replace(/\/$/, '')}/v1`, apiKey: o.key, maxRetries: 2 });
  const answers: { teacher: string; student: string; tMs: number; sMs: number; studentArm: string }[] = new Array(rows.length);
  let next = 0;
  const ask = async (row: Row, arm: 'teacher' | 'student') => {
    const t0 = performance.now();
    const { data, response } = await client.chat.completions
      .create({ model: o.task, messages: row.messages, store: false }, { headers: { 'x-distillery-force-arm': arm } })
      .withResponse();
    return { text: (data.choices[0]?.message.content ?? '').trim(), ms: performance.now() - t0, arm: response.headers.get('x-distillery-arm') ?? arm };
  };
  await Promise.all(
    Array.from({ length: o.concurrency ?? 8 }, async () => {
      while (next < rows.length) {
        const i = next++;
        const [t, s] = await Promise.all([ask(rows[i]!, 'teacher'), ask(rows[i]!, 'student')]);
        answers[i] = { teacher: t.text, student: s.text, tMs: t.ms, sMs: s.ms, studentArm: s.arm };
      }
    }),
  );
  const n = rows.length;
  const agree = answers.filter((a) => a.teacher === a.student).length;
  const withRef = rows.map((r, i) => ({ r, a: answers[i]! })).filter((x) => x.r.reference !== undefined);
  const teacherCorrect = withRef.map((x) => x.a.teacher === x.r.reference);
  const studentCorrect = withRef.map((x) => x.a.student === x.r.reference);
  const chrf = n ? answers.reduce((s, a) => s + sentenceChrf(a.student, [a.teacher]).score, 0) / n : 0;
  const result = {
    task: o.task,
    examples: n,
    studentServedByStudent: answers.filter((a) => a.studentArm === 'student').length,
    agreement: { rate: n ? agree / n : 0, interval: wilsonInterval(agree, n) },
    chrfVsTeacher: chrf,
    accuracy: withRef.length
      ? {
          n: withRef.length,
          teacher: wilsonInterval(teacherCorrect.filter(Boolean).length, withRef.length),
          student: wilsonInterval(studentCorrect.filter(Boolean).length, withRef.length),
          mcnemar: mcnemarFromPairs(studentCorrect, teacherCorrect),
        }
      : null,
    latency: { teacher: summarizeLatencies(answers.map((a) => a.tMs)), student: summarizeLatencies(answers.map((a) => a.sMs)) },
  };
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const text = [
    `Offline evaluation of '${o.task}' on ${n} examples (student forced; ${result.studentServedByStudent} answered by a student model)`,
    `  agreement with teacher: ${pct(result.agreement.rate)} [${pct(result.agreement.interval.lower)}, ${pct(result.agreement.interval.upper)}]   chrF vs teacher: ${chrf.toFixed(1)}`,
    ...(result.accuracy
      ? [
          `  accuracy vs reference (n=${result.accuracy.n}): teacher ${pct(result.accuracy.teacher.estimate)}, student ${pct(result.accuracy.student.estimate)}; McNemar p=${result.accuracy.mcnemar.pValue.toFixed(4)} (${result.accuracy.mcnemar.verdict})`,
        ]
      : []),
    `  latency p50/p95: teacher ${result.latency.teacher.p50InMs.toFixed(1)}/${result.latency.teacher.p95InMs.toFixed(1)} ms, student ${result.latency.student.p50InMs.toFixed(1)}/${result.latency.student.p95InMs.toFixed(1)} ms`,
  ].join('\n');
  return { ...result, text };
}
