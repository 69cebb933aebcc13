// From 50,000 logged pairs (the brief's case-study size) to a promoted student: dataset, training,
// evaluation, promotion — wall time on this machine and each step's share. Baseline in the same
// run: the bare trainer on the same training examples (what the pipeline adds around it).
//   npx tsx bench/distillation-pipeline.ts [--pairs 50000]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDistillery } from '../src/compose/index.js';
import { loadConfig } from '../src/config.js';
import type { JobState } from '../src/core/ports.js';
import { trainStudent } from '../src/adapters/onnx/train-student.js';
import { teacherLabelledPair } from '../test/fixtures/pair-records.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const PAIRS = arg('pairs', 50_000);

const root = path.join(import.meta.dirname, '..');
const raw = JSON.parse(readFileSync(path.join(root, 'data/clinc150/data_full.json'), 'utf8')) as Record<string, [string, string][]>;
const domains = JSON.parse(readFileSync(path.join(root, 'data/clinc150/domains.json'), 'utf8')) as Record<string, string[]>;
const labels = [...Object.values(domains).flat()];
const rows = [...raw.train!, ...raw.val!, ...raw.test!];
// 50,000 distinct conversations: CLINC150 messages with a customer reference, as support tickets carry.
const customers = ['', 'order 1182', 'my account', 'today', 'asap', 'for my trip', 'again', 'thanks', 'please', 'quick question'];

function pair(i: number) {
  const [text, label] = rows[i % rows.length]!;
  const suffix = customers[Math.floor(i / rows.length) % customers.length]!;
  return teacherLabelledPair(i, { task: 'intents', tenant: 'bench', text: suffix ? `${text} ${suffix}` : text, label, idPrefix: 'bench' });
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'distillery-bench-pipeline-'));
  try {
    const config = loadConfig({
      DISTILLERY_DATA_DIR: dir,
      DISTILLERY_CONFIG_JSON: JSON.stringify({
        models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' } },
        tasks: [
          {
            name: 'intents',
            teacher: 'teacher',
            student: { source: 'registry' },
            classification: { labels },
            distill: { threshold: null, dataset: { maxPairs: PAIRS }, gate: { minAgreement: 0.8, minTestExamples: 100 } },
          },
        ],
      }),
    });
    const times: Partial<Record<JobState, number>> = {};
    let last = 0;
    const d = await createDistillery(config, {
      afterJobStep: (_job, step) => {
        const now = performance.now();
        times[step] = now - last;
        last = now;
      },
    });
    const t0 = performance.now();
    for (let i = 0; i < PAIRS; i += 5000) await d.pairStore.upsertMany(Array.from({ length: Math.min(5000, PAIRS - i) }, (_, k) => pair(i + k)));
    const seedMs = performance.now() - t0;

    const { job } = await d.triggers.request('intents', { type: 'manual', detail: 'benchmark' });
    last = performance.now();
    const start = last;
    const done = await d.runner.run(job.id);
    const totalMs = performance.now() - start;
    if (done?.outcome !== 'promoted') throw new Error(`job ended ${done?.state}/${done?.outcome}: ${JSON.stringify(done?.steps.gate)}`);
    const ds = done.steps.dataset as { kept: number; train: number; validation: number; test: number };

    // Baseline: the trainer alone on the same training examples (no dataset build, no worker, no ONNX, no evaluation).
    const examples = (await d.artifacts.get(`datasets/intents/${job.id}/examples.jsonl`))!;
    const parsed = new TextDecoder()
      .decode(examples)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { split: string; label: string; messages: { content: string }[] });
    const b0 = performance.now();
    trainStudent(
      { labels, train: parsed.filter((e) => e.split === 'train').map((e) => ({ text: e.messages[0]!.content, label: e.label })), validation: parsed.filter((e) => e.split === 'validation').map((e) => ({ text: e.messages[0]!.content, label: e.label })) },
      {},
    );
    const bareTrainMs = performance.now() - b0;

    const share = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(2)} s (${(((ms ?? 0) / totalMs) * 100).toFixed(0)}%)`;
    console.log(`pairs logged: ${PAIRS} (seeding the store took ${(seedMs / 1000).toFixed(1)} s, not counted)`);
    console.log(`dataset: ${ds.kept} kept → ${ds.train} train / ${ds.validation} validation / ${ds.test} test`);
    console.log(`queued → building_dataset   ${share(times.queued)}`);
    console.log(`building_dataset → training ${share(times.building_dataset)}`);
    console.log(`training → evaluating       ${share(times.training)}`);
    console.log(`evaluating → promoted       ${share(times.evaluating)}`);
    console.log(`total, pairs to promoted student: ${(totalMs / 1000).toFixed(2)} s (target ≤ 60 s)`);
    const ev = done.steps.evaluation as { candidate: { agreement: number } };
    console.log(`candidate agreement with the teacher on the test split: ${ev.candidate.agreement.toFixed(4)}`);
    console.log(`baseline, bare trainer on the same train split: ${(bareTrainMs / 1000).toFixed(2)} s → pipeline / bare training = ${(totalMs / bareTrainMs).toFixed(2)}×`);
    await d.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
