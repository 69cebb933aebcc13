// Stage 1 of dataset distillation (the teacher answers every example), fanned out as queue
// chunks: throughput against a fake teacher that answers in 200 ms (a real HTTP server speaking
// the OpenAI wire format), with 1, 2 and 4 workers on the embedded defaults (SQLite queue, pairs
// and jobs; each worker a queue subscriber taking one chunk at a time with `concurrency` teacher
// calls in flight). The baseline is the 1-worker run of the same process. Then the cost of
// stage 1 for a 50,000-example dataset from the pricing table (src/core/eval/pricing.ts), on
// DeepSeek-V3 and GPT-4o, with token counts measured (cl100k_base) on the real prompts sent.
//   npx tsx bench/stage1-throughput.ts [--examples 960] [--chunk 80] [--concurrency 8] [--latency 200] [--runs 1]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { createDistillery } from '../src/compose/index.js';
import { loadConfig } from '../src/config.js';
import { dispatchReceived } from '../src/core/distill/job-messages.js';
import { taskTypeSettings } from '../src/core/distill/task-types.js';
import { DEFAULT_PRICING, findModelPrice, tokenCostUsd } from '../src/core/eval/pricing.js';
import { clincSubset, goldLabels } from '../test/fixtures/clinc150.js';
import { startFakeOpenAIServer } from '../test/fixtures/fake-openai-server.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const EXAMPLES = arg('examples', 960);
const CHUNK = arg('chunk', 80);
const CONCURRENCY = arg('concurrency', 8);
const LATENCY = arg('latency', 200);
const RUNS = arg('runs', 1);
const WORKERS = [1, 2, 4];

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const lines: string[] = [];
const out = (s = '') => {
  lines.push(s);
  console.log(s);
};

const data = clincSubset(['banking', 'credit_cards', 'travel', 'utility']);
const gold = goldLabels();
const rows = data.train.slice(0, EXAMPLES);
if (rows.length < EXAMPLES) throw new Error(`only ${rows.length} rows available`);
const userText = (body: any) => String([...body.messages].reverse().find((m: { role: string }) => m.role === 'user')?.content ?? '');

const teacher = await startFakeOpenAIServer({
  model: 'DeepSeek-V3',
  answer: (req) => ({ text: gold.get(userText(req.body)) ?? 'unknown', completionTokens: 3 }),
  fault: () => ({ kind: 'delay', ms: LATENCY }),
});

async function runOnce(workers: number, run: number) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stage1-bench-'));
  const config = loadConfig({
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: { teacher: { provider: 'openai', baseURL: teacher.baseURL, model: 'DeepSeek-V3', auth: 'none', maxRetries: 0, timeoutInMs: 10_000 } },
      tasks: [],
    }),
    DISTILLERY_DATA_DIR: dataDir,
    DISTILLERY_API_KEYS: '[]',
  });
  const d = await createDistillery(config);
  try {
    const subs = Array.from({ length: workers }, () => d.jobQueue.subscribe(dispatchReceived(d.dispatchJobMessage), { maxConcurrentCalls: 1 }));
    const prepared = await d.datasetJobs.prepare({
      task: `bench-${workers}-${run}`,
      teacher: 'teacher',
      task_type: 'classification',
      labels: data.labels,
      training_data: rows.map((r) => JSON.stringify({ prompt: r.text, label: r.label })).join('\n'),
      chunk_size: CHUNK,
      concurrency: CONCURRENCY,
    }, { tenant: '*' });
    const t0 = performance.now();
    const { job } = await d.triggers.request(prepared.task, { type: 'spec', detail: 'bench' }, { kind: 'dataset', spec: prepared.spec });
    let current = job;
    while (current.state === 'queued' || current.state === 'generating') {
      await new Promise((r) => setTimeout(r, 20));
      current = (await d.jobStore.get(job.id))!;
    }
    const elapsedInMs = performance.now() - t0;
    const stage1 = current.steps.generation as { ok: number; examples: number; latency: { p50InMs: number; p99InMs: number }; usage: { promptTokens: number; completionTokens: number } };
    if (!stage1 || stage1.ok !== EXAMPLES) throw new Error(`stage 1 incomplete: ${JSON.stringify({ state: current.state, error: current.error, stage1 })}`);
    for (const s of subs) await s.close();
    return { elapsedInMs, perSecond: (EXAMPLES * 1000) / elapsedInMs, p50: stage1.latency.p50InMs, p99: stage1.latency.p99InMs };
  } finally {
    await d.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

out(`## Stage 1 (teacher answers) fanned out through the queue`);
out();
out(`Command: \`npx tsx bench/stage1-throughput.ts --examples ${EXAMPLES} --chunk ${CHUNK} --concurrency ${CONCURRENCY} --latency ${LATENCY} --runs ${RUNS}\``);
out();
out(`${EXAMPLES} CLINC150 prompts, chunks of ${CHUNK} (${Math.ceil(EXAMPLES / CHUNK)} queue messages), ${CONCURRENCY} teacher calls in flight per chunk, fake teacher answering in ${LATENCY} ms over HTTP; embedded defaults (SQLite queue, pair and job stores); each worker is a queue subscriber taking one chunk at a time. Time from the job's submission until it leaves \`generating\` (chunk planning, queue round trips, pair writes and the re-entry included). Median of ${RUNS} run(s); 2 cores.`);
out();
out('| workers | stage 1 time | examples/s | speed-up vs 1 worker | ideal | teacher latency p50 / p99 |');
out('| ---: | ---: | ---: | ---: | ---: | ---: |');
let base: number | undefined;
for (const w of WORKERS) {
  const results = [];
  for (let r = 0; r < RUNS; r++) results.push(await runOnce(w, r));
  const perSecond = median(results.map((r) => r.perSecond));
  const elapsed = median(results.map((r) => r.elapsedInMs));
  base ??= perSecond;
  out(`| ${w} | ${fmt(elapsed / 1000, 2)} s | ${fmt(perSecond, 1)} | ${fmt(perSecond / base, 2)}× | ${w}× | ${fmt(median(results.map((r) => r.p50)), 0)} / ${fmt(median(results.map((r) => r.p99)), 0)} ms |`);
}
const ceiling = (CONCURRENCY * 1000) / LATENCY;
out();
out(`Ceiling per worker: ${CONCURRENCY} calls in flight / ${LATENCY} ms = ${fmt(ceiling, 0)} examples/s; throughput scales with workers × concurrency until the teacher's rate limit (429 + retry-after, honoured per chunk) or its latency under load is the bound.`);

// --- cost of stage 1 for 50,000 examples -----------------------------------------------------------
const enc = getEncoding('cl100k_base');
const system = taskTypeSettings('classification', { labels: data.labels }).systemPrompt;
// Chat format overhead: ~4 tokens per message plus 3 for the reply priming (OpenAI's cookbook rule).
const promptTokens = (text: string) => enc.encode(system).length + enc.encode(text).length + 2 * 4 + 3;
const meanPrompt = rows.reduce((a, r) => a + promptTokens(r.text), 0) / rows.length;
const meanCompletion = rows.reduce((a, r) => a + enc.encode(r.label).length, 0) / rows.length;
const scenarios = [
  { name: 'intent classification (CLINC150 prompts + label set, measured)', prompt: meanPrompt, completion: meanCompletion },
  // The product's reference case: multi-turn support conversations; answers capped by Azure ML's default max_tokens.
  { name: 'support conversation (assumed 600 prompt tokens, 128-token answers = max_tokens)', prompt: 600, completion: 128 },
];
out();
out('### Stage-1 cost for 50,000 examples (list prices of the pricing table)');
out();
out('| scenario | tokens/example in / out | DeepSeek-V3 | GPT-4o | GPT-4o / DeepSeek-V3 |');
out('| --- | ---: | ---: | ---: | ---: |');
for (const s of scenarios) {
  const cost = (model: string) => {
    const price = findModelPrice(DEFAULT_PRICING, model)!;
    return tokenCostUsd(price, { promptTokens: s.prompt * 50_000, completionTokens: s.completion * 50_000 });
  };
  const ds = cost('DeepSeek-V3');
  const g = cost('gpt-4o');
  out(`| ${s.name} | ${fmt(s.prompt, 0)} / ${fmt(s.completion, 1)} | $${fmt(ds, 2)} | $${fmt(g, 2)} | ${fmt(g / ds, 1)}× |`);
}
const ds = findModelPrice(DEFAULT_PRICING, 'DeepSeek-V3')!;
const g4 = findModelPrice(DEFAULT_PRICING, 'gpt-4o')!;
out();
out(`Prices: DeepSeek-V3 $${ds.inputPerMillionUsd}/$${ds.outputPerMillionUsd} and GPT-4o $${g4.inputPerMillionUsd}/$${g4.outputPerMillionUsd} per million input/output tokens (${ds.source}; ${g4.source}). The classification system prompt lists all ${data.labels.length} labels, so input tokens dominate; retries of failed calls and the validation split add to these figures.`);

await teacher.close();
const { mkdirSync, writeFileSync, readFileSync, existsSync } = await import('node:fs');
mkdirSync('bench/results', { recursive: true });
const file = 'bench/results/dataset-jobs.md';
const header = '# Dataset distillation jobs (issue 10)\n\n';
const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
// Keep any other section of the file; replace this benchmark's own.
const marker = '## Stage 1 (teacher answers) fanned out through the queue';
const kept = previous.includes(marker) ? previous.slice(0, previous.indexOf(marker)) : previous || header;
writeFileSync(file, `${kept.trimEnd()}\n\n${lines.join('\n')}\n`);
console.log(`\nwritten to ${file}`);
process.exit(0);
