// Student load time per instance (cold start): what a fresh Functions instance pays before its
// first student answer — loading onnxruntime-node, reading the model, creating the session and the
// first forward pass — with the demo CLINC150 student (trained as bench/student-serving.ts does).
// Each run is a fresh Node process, as a new Flex Consumption instance is.
//
//   npx tsx bench/student-cold-start.ts [--runs 7]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildStudentArtifacts } from '../src/adapters/onnx/student-artifacts.js';
import { trainStudentInWorker } from '../src/adapters/onnx/train-student-in-worker.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
type Row = [string, string];
const data = JSON.parse(readFileSync(new URL('../data/clinc150/data_full.json', import.meta.url), 'utf8')) as Record<string, Row[]>;
const labels = [...new Set(data.train!.map((r) => r[1]))].sort();

const trained = await trainStudentInWorker(
  { labels, train: data.train!.map(([text, label]) => ({ text, label })), validation: data.val!.map(([text, label]) => ({ text, label })) },
  {},
);
const artifacts = buildStudentArtifacts(trained.weights, { task: 'clinc150' });
const dir = mkdtempSync(join(tmpdir(), 'distillery-cold-'));
const modelFile = join(dir, 'model.onnx');
writeFileSync(modelFile, artifacts.model);
const ortEntry = createRequire(import.meta.url).resolve('onnxruntime-node');

// Plain CommonJS, as the deployed (compiled) app loads it; times are from process start.
const probe = `
const t = () => performance.now();
const start = t();
const ort = require(${JSON.stringify(ortEntry)});
const loaded = t();
const fs = require('node:fs');
(async () => {
  const bytes = fs.readFileSync(${JSON.stringify(modelFile)});
  const read = t();
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const created = t();
  const ids = new BigInt64Array(80).fill(7n);
  await s.run({ input_ids: new ort.Tensor('int64', ids, [1, 80]), mask: new ort.Tensor('float32', new Float32Array(80).fill(1), [1, 80]) });
  const first = t();
  console.log(JSON.stringify({ boot: start, ort: loaded - start, read: read - loaded, session: created - read, firstRun: first - created, total: first }));
})();`;

const runs = Array.from({ length: Number(args.runs) }, () => JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as Record<string, number>);
rmSync(dir, { recursive: true, force: true });
const median = (k: string) => {
  const xs = runs.map((r) => r[k]!).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
};
const max = (k: string) => Math.max(...runs.map((r) => r[k]!));
console.log(`Student cold start — model ${(artifacts.model.byteLength / 1024 / 1024).toFixed(2)} MB, ${runs.length} fresh processes, Node ${process.version}`);
console.log('| phase | median | max |');
console.log('| --- | ---: | ---: |');
for (const [k, name] of [
  ['boot', 'Node process start → script'],
  ['ort', 'load onnxruntime-node'],
  ['read', 'read model file'],
  ['session', 'create inference session'],
  ['firstRun', 'first forward pass'],
  ['total', '**process start → first student answer**'],
] as const) {
  console.log(`| ${name} | ${median(k).toFixed(1)} ms | ${max(k).toFixed(1)} ms |`);
}
