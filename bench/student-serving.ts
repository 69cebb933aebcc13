// Student serving benchmark: per-request cost of an in-process CLINC150 student.
//   - featurize + onnxruntime run, p50/p99 (target p50 ≤ 100 µs), against the baseline of
//     featurize + the pure-TypeScript forward pass, measured in the same run on the same inputs;
//   - the whole ChatModel path (OnnxStudentModel.generate: message → label answer);
//   - session creation (cold start), model file size (target ≤ 10 MB), resident memory added by
//     one loaded student.
//
//   npx tsx bench/student-serving.ts

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxSessionCache } from '../src/adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from '../src/adapters/onnx/onnx-student-model.js';
import { buildStudentArtifacts } from '../src/adapters/onnx/student-artifacts.js';
import { createFeaturizer } from '../src/core/tasks/featurizer.js';
import { forwardStudent } from '../src/adapters/onnx/student-weights.js';
import { trainStudentInWorker } from '../src/adapters/onnx/train-student-in-worker.js';

type Row = [string, string];
const data = JSON.parse(readFileSync(new URL('../data/clinc150/data_full.json', import.meta.url), 'utf8')) as Record<string, Row[]>;
const labels = [...new Set(data.train!.map((r) => r[1]))].sort();
const texts = data.test!.map((r) => r[0]);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MB`;

console.log(`CLINC150 student serving — ${texts.length} test inputs; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, onnxruntime ${ort.env.versions.common}`);

// Train in a worker so this process's heap holds only what serving holds.
const trained = await trainStudentInWorker(
  { labels, train: data.train!.map(([text, label]) => ({ text, label })), validation: data.val!.map(([text, label]) => ({ text, label })) },
  {},
);
const artifacts = buildStudentArtifacts(trained.weights, { task: 'clinc150' });
console.log(`model file: ${mb(artifacts.model.byteLength)} (${artifacts.model.byteLength} bytes; target ≤ 10 MB: ${artifacts.model.byteLength <= 10 * 1024 * 1024 ? 'met' : 'MISSED'})`);

// Cold start: session creation from the model bytes.
const creates: number[] = [];
for (let i = 0; i < 10; i++) {
  const t0 = process.hrtime.bigint();
  const s = await ort.InferenceSession.create(artifacts.model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  creates.push(Number(process.hrtime.bigint() - t0));
  await s.release();
}
console.log(`session creation (cold start): p50 ${(pct(creates, 50) / 1e6).toFixed(1)} ms, max ${(Math.max(...creates) / 1e6).toFixed(1)} ms (10 runs)`);

// Resident memory added by one loaded, warmed student: measured in a fresh child process, since
// this one has already created and released sessions (freed memory is not always returned).
const dir = mkdtempSync(join(tmpdir(), 'distillery-bench-'));
const modelFile = join(dir, 'model.onnx');
writeFileSync(modelFile, artifacts.model);
const ortEntry = createRequire(import.meta.url).resolve('onnxruntime-node');
const probe = `
const ort = require(${JSON.stringify(ortEntry)});
const fs = require('node:fs');
(async () => {
  const bytes = fs.readFileSync(${JSON.stringify(modelFile)});
  const base = process.memoryUsage().rss;
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const ids = new BigInt64Array(80).fill(7n);
  await s.run({ input_ids: new ort.Tensor('int64', ids, [1, 80]), mask: new ort.Tensor('float32', new Float32Array(80).fill(1), [1, 80]) });
  console.log(JSON.stringify({ base, loaded: process.memoryUsage().rss }));
})();`;
const mem = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as { base: number; loaded: number };
rmSync(dir, { recursive: true, force: true });
console.log(`resident memory of a loaded student: +${mb(mem.loaded - mem.base)} RSS over a bare onnxruntime process (${mb(mem.base)} → ${mb(mem.loaded)})`);

const cache = new OnnxSessionCache();
const model = new OnnxStudentModel({ id: 'clinc150@1', ...artifacts, sessionCache: cache, intraOpNumThreads: 1 });
await model.warm();

const f = createFeaturizer(trained.weights.featurizer);

async function measure(name: string, fn: (text: string) => unknown) {
  for (let i = 0; i < 1000; i++) await fn(texts[i % texts.length]!); // warm-up (JIT, allocator)
  const times: number[] = [];
  for (let round = 0; round < 2; round++) {
    for (const t of texts) {
      const t0 = process.hrtime.bigint();
      await fn(t);
      times.push(Number(process.hrtime.bigint() - t0));
    }
  }
  console.log(`${name.padEnd(44)} p50 ${us(pct(times, 50)).padStart(9)}  p99 ${us(pct(times, 99)).padStart(9)}  (${times.length} requests)`);
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

const featurizeOnly = await measure('featurize only', (t) => f.featurize(t));
const baseline = await measure('baseline: featurize + TS forward pass', (t) => forwardStudent(trained.weights, f.featurize(t).ids));
// The product's own inference path: featurize, build the tensors, session.run, argmax.
const onnx = await measure('featurize + ONNX run (OnnxStudentModel.classify)', (t) => model.classify(t));
const chat = await measure('OnnxStudentModel.generate (ChatModel path)', (t) => model.generate({ messages: [{ role: 'user', content: t }] }));

console.log('');
console.log(`ratio ONNX / TS baseline: p50 ×${(onnx.p50 / baseline.p50).toFixed(2)}, p99 ×${(onnx.p99 / baseline.p99).toFixed(2)}`);
console.log(`ratio ChatModel path / ONNX run: p50 ×${(chat.p50 / onnx.p50).toFixed(2)}`);
console.log(`featurizer share of the ONNX path: ${((featurizeOnly.p50 / onnx.p50) * 100).toFixed(0)}% at p50`);
console.log(`target p50 ≤ 100 µs (featurize + ONNX run): ${onnx.p50 <= 100_000 ? 'met' : 'MISSED'}`);
await cache.clear();
