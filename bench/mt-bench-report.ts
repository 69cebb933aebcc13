// Builds the example comparison report of the repository: MT-Bench answers of gpt-4 (teacher) and
// vicuna-7b-v1.3 (student), with llama-13b as the un-distilled baseline (Vicuna is LLaMA fine-tuned
// on conversations with ChatGPT, i.e. distilled). The recorded answers are served by
// ReplayChatModel through the ChatModel port and scored by the offline report.
//
//   npx tsx bench/mt-bench-report.ts
//
// Writes docs/examples/mt-bench-gpt4-vs-vicuna7b.md and .json.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { ReplayChatModel, parseJsonLines, type MtBenchQuestion } from '../src/adapters/local/replay-chat-model.js';
import type { ChatMessage } from '../src/core/chat/chat-request-schema.js';
import { buildOfflineReport, type OfflineArm, type OfflineExample, type OfflineOutput } from '../src/core/eval/offline-report.js';
import { createPricing } from '../src/core/eval/pricing.js';
import { renderReportJson, renderOfflineMarkdown } from '../src/core/eval/report-format.js';
import { sentenceChrf } from '../src/core/eval/chrf.js';
import type { ChatModel } from '../src/core/ports.js';

const DATA = 'data/mt_bench';
const OUT = 'docs/examples/mt-bench-gpt4-vs-vicuna7b';

const questionsJsonl = await readFile(`${DATA}/question.jsonl`, 'utf8');
const questions = parseJsonLines<MtBenchQuestion>(questionsJsonl, 'question.jsonl');
const model = async (id: string) =>
  ReplayChatModel.fromMtBench({ id, questionsJsonl, answersJsonl: await readFile(`${DATA}/model_answer/${id}.jsonl`, 'utf8') });

const teacher = await model('gpt-4');
const student = await model('vicuna-7b-v1.3');
const baseline = await model('llama-13b');

// One example per (question, turn). Turn 2 carries the model's own first answer, as in MT-Bench.
const examples: OfflineExample[] = questions.flatMap((q) =>
  q.turns.map((t, i) => ({ id: `${q.question_id}-t${i + 1}`, input: t, category: q.category })),
);

async function run(m: ChatModel): Promise<OfflineArm['outputs']> {
  const outputs: OfflineOutput[] = [];
  for (const q of questions) {
    const messages: ChatMessage[] = [];
    for (let i = 0; i < q.turns.length; i++) {
      messages.push({ role: 'user', content: q.turns[i]! });
      const r = await m.generate({ messages: [...messages] });
      messages.push({ role: 'assistant', content: r.text });
      // Latency is not recorded in MT-Bench, so none is reported (a replay takes microseconds).
      outputs.push({ exampleId: `${q.question_id}-t${i + 1}`, text: r.text, usage: r.usage });
    }
  }
  return outputs;
}

// gpt-4 at its legacy list price; the open 7B/13B models at a serverless 8B price as a proxy for
// self-hosting them (replace with your own figures).
const pricing = createPricing({
  models: {
    'vicuna-7b-v1.3': { inputPerMillionUsd: 0.3, outputPerMillionUsd: 0.61, source: 'proxy: Llama-3.1-8B serverless list price, 2024-09' },
    'llama-13b': { inputPerMillionUsd: 0.3, outputPerMillionUsd: 0.61, source: 'proxy: Llama-3.1-8B serverless list price, 2024-09' },
  },
});

const arm = async (name: string, m: ChatModel): Promise<OfflineArm> => ({ name, modelId: m.id, hosting: 'remote', outputs: await run(m) });
const [t, s, b] = await Promise.all([arm('gpt-4', teacher), arm('vicuna-7b-v1.3', student), arm('llama-13b', baseline)]);

// Per-category sentence chrF of each arm against the teacher, for the notes.
const byCategory = new Map<string, { s: number[]; b: number[] }>();
for (const e of examples) {
  const ref = t.outputs.find((o) => o.exampleId === e.id)!.text;
  const c = byCategory.get(e.category!) ?? { s: [], b: [] };
  c.s.push(sentenceChrf(s.outputs.find((o) => o.exampleId === e.id)!.text, [ref]).score);
  c.b.push(sentenceChrf(b.outputs.find((o) => o.exampleId === e.id)!.text, [ref]).score);
  byCategory.set(e.category!, c);
}
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

const report = buildOfflineReport({
  task: 'mt-bench',
  kind: 'generation',
  examples,
  teacher: t,
  candidate: s,
  baseline: b,
  pricing,
  options: {
    title: 'MT-Bench: vicuna-7b-v1.3 (student) vs gpt-4 (teacher) vs llama-13b (baseline)',
    generatedAt: '2026-11-27T00:00:00.000Z',
    seed: 20240601,
    resamples: 1000,
    notes: [
      'Data: MT-Bench (lm-sys/FastChat, Apache-2.0), 80 questions × 2 turns = 160 examples, answers as published; served by ReplayChatModel.',
      'There are no gold answers for most MT-Bench questions, so the teacher (gpt-4) is the reference: the metrics measure how close each model comes to the teacher, i.e. agreement, not correctness.',
      'Non-inferiority needs either gold answers or judge verdicts; no judge model is reachable from this machine, so it is reported as insufficient data. Run the pairwise judge (src/core/eval/pairwise-judge.ts) with a real judge to fill it in.',
      'Latency and memory are not recorded in MT-Bench; token counts are estimated at 4 characters per token; vicuna/llama prices are a proxy (Llama-3.1-8B serverless).',
      `Per-category mean sentence chrF2 vs the teacher (vicuna-7b / llama-13b): ${[...byCategory.entries()]
        .map(([k, v]) => `${k} ${mean(v.s).toFixed(1)} / ${mean(v.b).toFixed(1)}`)
        .join('; ')}.`,
      'Regenerate with `npx tsx bench/mt-bench-report.ts`.',
    ],
  },
});

await mkdir('docs/examples', { recursive: true });
await writeFile(`${OUT}.md`, renderOfflineMarkdown(report));
await writeFile(`${OUT}.json`, renderReportJson(report) + '\n');
console.log(renderOfflineMarkdown(report));
