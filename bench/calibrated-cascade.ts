// Calibrated cascade on CLINC150 (CC BY 3.0, data/clinc150): the demo teacher (the wider
// classifier of src/adapters/onnx/demo-teacher.ts, trained on gold train + val) labels the
// traffic; the student learns the teacher's labels on the train split, is calibrated (temperature
// scaling) on the teacher's labels of the validation split, and its τ is chosen there for
// `{ minAgreement: 0.98 }` at 95% one-sided confidence. On the test split (in-scope + out-of-scope,
// never seen by either) it prints, in the same run: teacher-only accuracy against gold, the
// cascade's served accuracy and student share at the chosen τ, the fixed τ 0.5 of the old
// configuration for comparison, ECE before/after, and the cost cut with a 20% constant shadow vs
// the adaptive shadow schedule's long-run floor.
//
//   npx tsx bench/calibrated-cascade.ts

import path from 'node:path';
import { calibrateStudent } from '../src/adapters/onnx/calibrate-student.js';
import { DEMO_TEACHER_HYPERPARAMETERS, readClinc150 } from '../src/adapters/onnx/demo-teacher.js';
import { argmax, forwardStudent, type StudentWeights } from '../src/adapters/onnx/student-weights.js';
import { trainStudent, type TrainingExample } from '../src/adapters/onnx/train-student.js';
import { expectedCalibrationError, softmaxWithTemperature } from '../src/core/eval/calibration.js';
import { DEFAULT_ADAPTIVE_SHADOW } from '../src/core/routing/adaptive-shadow.js';
import { createFeaturizer } from '../src/core/tasks/featurizer.js';

const data = readClinc150(path.join(import.meta.dirname, '..', 'data'));
const t0 = performance.now();
const teacher = trainStudent({ labels: data.labels, train: [...data.train, ...data.val] }, DEMO_TEACHER_HYPERPARAMETERS).weights;
const predict = (w: StudentWeights) => {
  const f = createFeaturizer(w.featurizer);
  return (text: string) => forwardStudent(w, f.featurize(text).ids);
};
const teach = predict(teacher);
const teacherLabel = (text: string) => teacher.labels[argmax(teach(text).logits)]!;
const relabel = (rows: { text: string }[]): TrainingExample[] => rows.map((r) => ({ text: r.text, label: teacherLabel(r.text) }));
const train = relabel(data.train);
const validation = relabel(data.val);
const student = trainStudent({ labels: data.labels, train, validation }, { seed: 42 }).weights;
const target = { minAgreement: 0.98, confidence: 0.95 };
const calibration = calibrateStudent(student, validation, target)!;
const trainSeconds = (performance.now() - t0) / 1000;

const test = [...data.test, ...data.oosTest];
const run = predict(student);
const rows = test.map((r) => {
  const z = run(r.text).logits;
  const raw = softmaxWithTemperature(z, 1);
  const cal = softmaxWithTemperature(z, calibration.temperature);
  const s = argmax(z);
  return { gold: r.label, teacher: teacherLabel(r.text), student: student.labels[s]!, rawConfidence: raw[s]!, confidence: cal[s]! };
});
const n = rows.length;
const teacherAccuracy = rows.filter((r) => r.teacher === r.gold).length / n;
const studentAccuracy = rows.filter((r) => r.student === r.gold).length / n;

function cascadeAt(tau: number, confidence: (r: (typeof rows)[number]) => number) {
  const served = rows.filter((r) => confidence(r) >= tau);
  const share = served.length / n;
  const agreement = served.filter((r) => r.student === r.teacher).length / Math.max(1, served.length);
  const accuracy = rows.filter((r) => (confidence(r) >= tau ? r.student : r.teacher) === r.gold).length / n;
  return { share, agreement, accuracy };
}
// Cost in teacher calls per request: escalations plus shadowed student-served requests.
const costCut = (share: number, shadowRate: number) => 1 - ((1 - share) + share * shadowRate);

const fmt = (x: number, d = 4) => x.toFixed(d);
const tau = calibration.cascade?.threshold;
console.log(`CLINC150 calibrated cascade — ${train.length} train / ${validation.length} validation (teacher labels) / ${n} test (gold); trained teacher + student in ${trainSeconds.toFixed(1)} s`);
console.log(`teacher-only accuracy ${fmt(teacherAccuracy)}; student alone ${fmt(studentAccuracy)} (ratio ${fmt(studentAccuracy / teacherAccuracy, 3)})`);
console.log(
  `temperature ${fmt(calibration.temperature, 3)}; validation ECE ${fmt(calibration.eceBefore)} → ${fmt(calibration.eceAfter)}; ` +
    `test ECE ${fmt(expectedCalibrationError(rows.map((r) => r.rawConfidence), rows.map((r) => r.student === r.teacher)))} → ` +
    `${fmt(expectedCalibrationError(rows.map((r) => r.confidence), rows.map((r) => r.student === r.teacher)))}`,
);
console.log('\nrisk–coverage on test (calibrated confidence):');
console.log('  τ      share   agreement  served acc');
for (const t of [0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]) {
  const c = cascadeAt(t, (r) => r.confidence);
  console.log(`  ${t.toFixed(2)}   ${fmt(c.share, 3)}   ${fmt(c.agreement)}     ${fmt(c.accuracy)}`);
}
if (tau === undefined) {
  console.log(`\nno τ meets ${JSON.stringify(target)} on validation: the student would serve nothing`);
} else {
  const chosen = cascadeAt(tau, (r) => r.confidence);
  const fixed = cascadeAt(0.5, (r) => r.rawConfidence);
  const floor = DEFAULT_ADAPTIVE_SHADOW.floorRate;
  console.log(`\nchosen τ ${fmt(tau)} for minAgreement 0.98 (validation: share ${fmt(calibration.cascade!.coverage, 3)}, agreement lower bound ${fmt(calibration.cascade!.agreementLowerBound)})`);
  console.log(
    `test at τ: student share ${fmt(chosen.share, 3)}, agreement ${fmt(chosen.agreement)}, served accuracy ${fmt(chosen.accuracy)} ` +
      `(teacher-only ${fmt(teacherAccuracy)}, Δ ${((chosen.accuracy - teacherAccuracy) * 100).toFixed(2)} points)`,
  );
  console.log(`  cost cut: ${fmt(costCut(chosen.share, 0.2), 3)} with a constant 20% shadow; ${fmt(costCut(chosen.share, floor), 3)} at the adaptive shadow floor (${floor * 100}%); ${fmt(costCut(chosen.share, 0), 3)} without shadow`);
  const inScope = rows.slice(0, data.test.length);
  const s = inScope.filter((r) => r.confidence >= tau);
  const inAcc = inScope.filter((r) => (r.confidence >= tau ? r.student : r.teacher) === r.gold).length / inScope.length;
  const inTeacher = inScope.filter((r) => r.teacher === r.gold).length / inScope.length;
  console.log(
    `  in-scope test only (${inScope.length}): share ${fmt(s.length / inScope.length, 3)}, agreement ${fmt(s.filter((r) => r.student === r.teacher).length / s.length)}, ` +
      `served accuracy ${fmt(inAcc)} vs teacher-only ${fmt(inTeacher)}; cost cut ${fmt(costCut(s.length / inScope.length, floor), 3)} at the shadow floor`,
  );
  console.log(`old fixed τ 0.5 (raw confidence): share ${fmt(fixed.share, 3)}, agreement ${fmt(fixed.agreement)}, served accuracy ${fmt(fixed.accuracy)}, cost cut with 20% shadow ${fmt(costCut(fixed.share, 0.2), 3)}`);
}
