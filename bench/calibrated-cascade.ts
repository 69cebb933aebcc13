// Calibrated cascade on CLINC150 (CC BY 3.0, data/clinc150): the demo teacher (the wider
// classifier of src/adapters/onnx/demo-teacher.ts, trained on gold train + val) labels the
// traffic and, as a job asks it (logprobs, top_logprobs 5), gives its five most likely labels with
// their probabilities: the student learns those soft labels (renormalized over the five, as
// labelDistributionFromLogprobs reads them). Temperature and τ (for `{ minAgreement: 0.98 }` at
// 95% one-sided Wilson confidence) are fitted two ways:
//
//   A. the student learns the train split, early-stopped on the teacher's labels of the validation
//      split, and T and τ are fitted there — but the demo teacher was trained on those rows, so its
//      labels there are the gold ones and "agreement" there is the student's accuracy: pessimistic;
//   B. as a job sees it, T and τ are fitted on teacher-labelled traffic the teacher never saw: the
//      test split (in-scope + out-of-scope) is cut in two halves by a fixed seed; T and τ are fitted
//      on the teacher's labels of one half (its gold labels unused) and the cascade is scored on the
//      other half against gold, then the halves swap (two-fold cross-fitting: every scored row is
//      held out from the τ that serves it). The validation split is then free to train on: this
//      student learns train + validation (18,200 rows) for a fixed 10 epochs.
//
// Printed in the same run: teacher-only accuracy against gold, the student alone, ECE before/after,
// the risk–coverage curve on test, and for A and B the student share, served accuracy against gold
// and the cost cut (teacher calls per request: escalations plus shadowed student answers) with a
// constant 20% shadow and at the adaptive shadow's floors of 2% (default) and 1%.
//
//   npx tsx bench/calibrated-cascade.ts            (STUDENT_HP='{"epochs":5,"alpha":0.5}' to vary)

import { loadavg } from 'node:os';
import path from 'node:path';
import { calibrateStudent, type StudentCalibration } from '../src/adapters/onnx/calibrate-student.js';
import { DEMO_TEACHER_HYPERPARAMETERS, readClinc150 } from '../src/adapters/onnx/demo-teacher.js';
import { argmax, forwardStudent, type StudentWeights } from '../src/adapters/onnx/student-weights.js';
import { trainStudent, type TrainingExample } from '../src/adapters/onnx/train-student.js';
import { expectedCalibrationError, softmaxWithTemperature } from '../src/core/eval/calibration.js';
import { createRandom, shuffleInPlace } from '../src/core/eval/random.js';
import { DEFAULT_ADAPTIVE_SHADOW } from '../src/core/routing/adaptive-shadow.js';
import { createFeaturizer } from '../src/core/tasks/featurizer.js';

// Ten epochs, most of the weight on the teacher's soft labels (alpha 0.1) taken as they are (KD
// temperature 1: the demo teacher is a classifier whose probabilities are already its preferences):
// a student that copies the teacher's preferences, not only its top label, agrees with it more.
const STUDENT_HP = { seed: 42, epochs: 10, alpha: 0.1, temperature: 1, ...JSON.parse(process.env.STUDENT_HP ?? '{}') };
const TARGET = { minAgreement: 0.98, confidence: 0.95 };
const fmt = (x: number, d = 4) => x.toFixed(d);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

const data = readClinc150(path.join(import.meta.dirname, '..', 'data'));
console.log(`load average before: ${load()}`);
const t0 = performance.now();
const teacher = trainStudent({ labels: data.labels, train: [...data.train, ...data.val] }, DEMO_TEACHER_HYPERPARAMETERS).weights;
const teacherSeconds = (performance.now() - t0) / 1000;
const logitsOf = (w: StudentWeights) => {
  const f = createFeaturizer(w.featurizer);
  return (text: string) => forwardStudent(w, f.featurize(text).ids).logits;
};
const teach = logitsOf(teacher);
/** The teacher's answer and its top-5 distribution, as a job reads them from the logprobs. */
function askTeacher(text: string): { label: string; top5: Record<string, number> } {
  const p = softmaxWithTemperature(teach(text), 1);
  const top = [...p.keys()].sort((a, b) => p[b]! - p[a]!).slice(0, 5);
  return { label: teacher.labels[top[0]!]!, top5: Object.fromEntries(top.map((i) => [teacher.labels[i]!, p[i]!])) };
}
const relabel = (rows: { text: string }[]): TrainingExample[] =>
  rows.map((r) => {
    const t = askTeacher(r.text);
    return { text: r.text, label: t.label, teacherDistribution: t.top5 };
  });
const train = relabel(data.train);
const validation = relabel(data.val);
const t1 = performance.now();
const trained = trainStudent({ labels: data.labels, train, validation }, STUDENT_HP);
const studentSeconds = (performance.now() - t1) / 1000;
const t2 = performance.now();
const trainedB = trainStudent({ labels: data.labels, train: [...train, ...validation] }, { ...STUDENT_HP, early_stopping_patience: 0 });
const studentBSeconds = (performance.now() - t2) / 1000;

const testRows = [...data.test, ...data.oosTest].map((r, i) => ({ index: i, inScope: i < data.test.length, text: r.text, gold: r.label, teacher: askTeacher(r.text).label }));
function scoreWith(w: StudentWeights) {
  const run = logitsOf(w);
  return testRows.map((r) => {
    const z = run(r.text);
    const s = argmax(z);
    return { ...r, student: w.labels[s]!, z, s };
  });
}
const student = trained.weights;
const test = scoreWith(student);
type Row = (typeof test)[number];
const n = test.length;
const teacherAccuracy = test.filter((r) => r.teacher === r.gold).length / n;
const confidenceAt = (r: Row, temperature: number) => softmaxWithTemperature(r.z, temperature)[r.s]!;

/** The cascade over `rows` with T and τ from `cal` (nothing served when no τ meets the target). */
function cascade(rows: readonly Row[], cal: StudentCalibration) {
  const tau = cal.cascade?.threshold ?? Number.POSITIVE_INFINITY;
  const served = rows.filter((r) => confidenceAt(r, cal.temperature) >= tau);
  const correct = rows.filter((r) => (confidenceAt(r, cal.temperature) >= tau ? r.student : r.teacher) === r.gold).length;
  return { served: served.length, agreements: served.filter((r) => r.student === r.teacher).length, correct, n: rows.length };
}
type Outcome = ReturnType<typeof cascade>;
const sum = (xs: Outcome[]): Outcome => xs.reduce((a, b) => ({ served: a.served + b.served, agreements: a.agreements + b.agreements, correct: a.correct + b.correct, n: a.n + b.n }));
// Teacher calls per request: escalations plus shadowed student-served requests.
const costCut = (share: number, shadowRate: number) => 1 - ((1 - share) + share * shadowRate);
function report(name: string, o: Outcome, teacherAcc: number) {
  const share = o.served / o.n;
  const acc = o.correct / o.n;
  console.log(
    `${name}: student share ${fmt(share, 3)}, agreement ${fmt(o.agreements / Math.max(1, o.served))}, served accuracy ${fmt(acc)} (teacher-only ${fmt(teacherAcc)}, Δ ${((acc - teacherAcc) * 100).toFixed(2)} points); ` +
      `cost cut ${fmt(costCut(share, 0.2), 3)} at 20% shadow · ${fmt(costCut(share, DEFAULT_ADAPTIVE_SHADOW.floorRate), 3)} at the ${DEFAULT_ADAPTIVE_SHADOW.floorRate * 100}% floor · ${fmt(costCut(share, 0.01), 3)} at a 1% floor`,
  );
}
const accuracyOf = (rows: readonly Row[]) => rows.filter((r) => r.teacher === r.gold).length / rows.length;

console.log(
  `CLINC150 calibrated cascade — ${train.length} train / ${validation.length} validation (teacher top-5 soft labels) / ${n} test (gold); ` +
    `teacher trained in ${teacherSeconds.toFixed(1)} s, student (${JSON.stringify(STUDENT_HP)}) in ${studentSeconds.toFixed(1)} s, ${trained.metrics.epochsRun} epochs (best ${trained.metrics.bestEpoch}); ` +
    `student B (train + validation) in ${studentBSeconds.toFixed(1)} s`,
);
const alone = (rows: readonly Row[], name: string) => {
  const acc = rows.filter((r) => r.student === r.gold).length / n;
  console.log(`${name} alone ${fmt(acc)} (ratio ${fmt(acc / teacherAccuracy, 3)}); student–teacher agreement ${fmt(rows.filter((r) => r.student === r.teacher).length / n)}`);
};
console.log(`teacher-only accuracy ${fmt(teacherAccuracy)}`);
alone(test, 'student A');

// A: temperature and τ on the validation split.
const calA = calibrateStudent(student, validation, TARGET)!;
const agreesT = test.map((r) => r.student === r.teacher);
console.log(
  `\nA. validation-calibrated: T ${fmt(calA.temperature, 3)}; validation ECE ${fmt(calA.eceBefore)} → ${fmt(calA.eceAfter)}; test ECE (vs teacher) ` +
    `${fmt(expectedCalibrationError(test.map((r) => confidenceAt(r, 1)), agreesT))} → ${fmt(expectedCalibrationError(test.map((r) => confidenceAt(r, calA.temperature)), agreesT))}`,
);
console.log('  risk–coverage on test:  τ      share   agreement  served acc');
for (const t of [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]) {
  const o = cascade(test, { ...calA, cascade: { ...calA.cascade!, threshold: t } });
  console.log(`                          ${t.toFixed(2)}   ${fmt(o.served / n, 3)}   ${fmt(o.agreements / Math.max(1, o.served))}     ${fmt(o.correct / n)}`);
}
if (calA.cascade) console.log(`  chosen τ ${fmt(calA.cascade.threshold)} (validation share ${fmt(calA.cascade.coverage, 3)}, agreement lower bound ${fmt(calA.cascade.agreementLowerBound)})`);
else console.log(`  no τ meets ${JSON.stringify(TARGET)} on validation`);
report('  all test (5,500)', cascade(test, calA), teacherAccuracy);
const inScope = test.filter((r) => r.inScope);
report('  in-scope test (4,500)', cascade(inScope, calA), accuracyOf(inScope));

// B: the student of train + validation; temperature and τ on teacher-labelled traffic the teacher never saw, two-fold over test.
const studentB = trainedB.weights;
const testB = scoreWith(studentB);
alone(testB, '\nstudent B');
const order = testB.map((r) => r.index);
shuffleInPlace(order, createRandom(2024));
const halves = [order.slice(0, n / 2), order.slice(n / 2)].map((idx) => idx.map((i) => testB[i]!));
const folds = [0, 1].map((k) => {
  const calib = halves[k]!;
  const scored = halves[1 - k]!;
  const cal = calibrateStudent(studentB, calib.map((r) => ({ text: r.text, label: r.teacher })), TARGET)!;
  console.log(
    `\nB${k + 1}. fitted on half ${k + 1} (${calib.length} rows, teacher labels): T ${fmt(cal.temperature, 3)}, ` +
      (cal.cascade ? `τ ${fmt(cal.cascade.threshold)} (share ${fmt(cal.cascade.coverage, 3)}, agreement ${fmt(cal.cascade.agreement)}, lower bound ${fmt(cal.cascade.agreementLowerBound)})` : 'no τ meets the target') +
      `; scored on half ${2 - k}`,
  );
  return { all: cascade(scored, cal), inScope: cascade(scored.filter((r) => r.inScope), cal) };
});
console.log('\nB. traffic-calibrated, two-fold (every row scored with the τ of the other half):');
report('  all test (5,500)', sum(folds.map((f) => f.all)), teacherAccuracy);
report('  in-scope test (4,500)', sum(folds.map((f) => f.inScope)), accuracyOf(inScope));
console.log(`\nload average after: ${load()}`);
