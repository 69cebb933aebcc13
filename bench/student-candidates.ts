// Candidate students on CLINC150 (CC BY 3.0, data/clinc150), as a job trains them: the demo
// teacher (the wide classifier of src/adapters/onnx/demo-teacher.ts, trained on gold train + val)
// labels train (15,100 rows, out-of-scope included) and val; the candidate search (n-gram bag,
// then the convolutional student) runs in a worker thread as the local trainer runs it, keeps the
// best on validation, and each candidate reports its ONNX size and TypeScript featurize + forward
// latency. Printed in the same run: the wall time of the whole search (target ≤ 60 s for 15k
// rows), the chosen student's test accuracy against gold vs the teacher's (target ≥ 0.95×), and
// the ONNX serving latency (onnxruntime-node through OnnxStudentModel, one request at a time) of
// the chosen student and of the convolutional one (target p50 ≤ 1 ms).
//
//   npx tsx bench/student-candidates.ts

import path from 'node:path';
import { cpus, loadavg } from 'node:os';
import { DEMO_TEACHER_HYPERPARAMETERS, readClinc150 } from '../src/adapters/onnx/demo-teacher.js';
import { OnnxSessionCache } from '../src/adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from '../src/adapters/onnx/onnx-student-model.js';
import { buildStudentArtifacts } from '../src/adapters/onnx/student-artifacts.js';
import { argmax, forwardStudent, type StudentWeights } from '../src/adapters/onnx/student-weights.js';
import { trainStudentInWorker } from '../src/adapters/onnx/train-student-in-worker.js';
import { trainStudent, type TrainingExample } from '../src/adapters/onnx/train-student.js';
import { quantileSorted } from '../src/core/eval/statistics.js';
import { createFeaturizer } from '../src/core/tasks/featurizer.js';

const data = readClinc150(path.join(import.meta.dirname, '..', 'data'));
console.log(`${cpus().length} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const teacher = trainStudent({ labels: data.labels, train: [...data.train, ...data.val] }, DEMO_TEACHER_HYPERPARAMETERS).weights;
const predictor = (w: StudentWeights) => {
  const f = createFeaturizer(w.featurizer);
  return (text: string) => w.labels[argmax(forwardStudent(w, f.featurize(text).ids).logits)]!;
};
const teacherLabel = predictor(teacher);
const relabel = (rows: { text: string }[]): TrainingExample[] => rows.map((r) => ({ text: r.text, label: teacherLabel(r.text) }));
const train = relabel(data.train);
const validation = relabel(data.val);

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const search = await trainStudentInWorker({ labels: data.labels, train, validation }, { seed: 42 });
const searchSeconds = (performance.now() - t0) / 1000;
// Process-wide CPU time (the worker thread included): less sensitive to other work on the machine than wall time.
const cpu = process.cpuUsage(cpu0);
const searchCpuSeconds = (cpu.user + cpu.system) / 1e6;

const test = [...data.test, ...data.oosTest];
const accuracy = (w: StudentWeights, rows: { text: string; label: string }[]) => {
  const p = predictor(w);
  return rows.filter((r) => p(r.text) === r.label).length / rows.length;
};
const fmt = (x: number, d = 4) => x.toFixed(d);
console.log(`candidate search over ${train.length} train / ${validation.length} validation rows (teacher labels): ${searchSeconds.toFixed(1)} s wall, ${searchCpuSeconds.toFixed(1)} s CPU, in a worker thread (load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
console.log('  kind     val acc   train s   ONNX size   TS p50 µs   TS p99 µs   chosen');
for (const c of search.candidates ?? []) {
  if (c.skipped) {
    console.log(`  ${c.kind.padEnd(7)}  skipped (${c.skipped}): ${c.reason ?? ''}`);
    continue;
  }
  console.log(
    `  ${c.kind.padEnd(7)}  ${fmt(c.validationAccuracy)}   ${(c.durationInMs / 1000).toFixed(1).padStart(6)}   ${((c.sizeInBytes ?? 0) / 1e6).toFixed(2).padStart(6)} MB   ` +
      `${((c.p50InMs ?? 0) * 1000).toFixed(1).padStart(8)}   ${((c.p99InMs ?? 0) * 1000).toFixed(1).padStart(8)}   ${c.chosen ? 'yes' : ''}`,
  );
}

async function serving(w: StudentWeights, name: string) {
  const artifacts = buildStudentArtifacts(w, { task: 'clinc150' });
  const model = new OnnxStudentModel({ id: name, ...artifacts, sessionCache: new OnnxSessionCache() });
  await model.warm();
  const texts = test.slice(0, 2000).map((r) => r.text);
  for (const t of texts.slice(0, 200)) await model.classify(t);
  const times: number[] = [];
  for (const t of texts) {
    const s = performance.now();
    await model.classify(t);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  await model.release();
  return { p50: quantileSorted(times, 0.5) * 1000, p99: quantileSorted(times, 0.99) * 1000, size: artifacts.model.byteLength };
}

const inScope = data.test;
const teacherAll = accuracy(teacher, test);
const teacherIn = accuracy(teacher, inScope);
const chosen = search.weights;
const chosenAll = accuracy(chosen, test);
const chosenIn = accuracy(chosen, inScope);
console.log(`\nteacher accuracy (gold): all test ${fmt(teacherAll)} · in-scope ${fmt(teacherIn)}`);
console.log(`chosen student (${chosen.conv ? 'conv' : 'ngrams'}): all test ${fmt(chosenAll)} (${fmt(chosenAll / teacherAll, 3)}×) · in-scope ${fmt(chosenIn)} (${fmt(chosenIn / teacherIn, 3)}×)`);
const s = await serving(chosen, 'chosen');
console.log(`chosen student served by onnxruntime: p50 ${s.p50.toFixed(1)} µs, p99 ${s.p99.toFixed(1)} µs, model ${(s.size / 1e6).toFixed(2)} MB`);

// The convolutional candidate on its own, to serve and score it too (the search returns the kept weights only).
const conv = trainStudent({ labels: data.labels, train, validation }, { seed: 42, featurizer: 'conv' }).weights;
const convAll = accuracy(conv, test);
const convIn = accuracy(conv, inScope);
const cs = await serving(conv, 'conv');
console.log(`conv student: all test ${fmt(convAll)} (${fmt(convAll / teacherAll, 3)}×) · in-scope ${fmt(convIn)}; onnxruntime p50 ${cs.p50.toFixed(1)} µs, p99 ${cs.p99.toFixed(1)} µs, model ${(cs.size / 1e6).toFixed(2)} MB`);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
