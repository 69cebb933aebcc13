import { lastUserText } from '../chat/chat-request-schema.js';
import { summarizeLatencies, type LatencySummary } from '../eval/latency-summary.js';
import { judgePairs, summarizeJudgements } from '../eval/pairwise-judge.js';
import type { ChatModel, JobRecord } from '../ports.js';
import type { DatasetExample } from './dataset-builder.js';
import type { DatasetJobsDeps } from './dataset-job-deps.js';
import { labelsOf, type DistillationSpec } from './distillation-spec.js';
import type { Stage1Summary } from './job-steps.js';
import { specOf } from './spec-to-task.js';
import type { ReportInput } from './stage2-steps.js';
import { extractAnswer, isLabelTask, meanScores, scoreAnswer, taskTypeSettings, type TaskType } from './task-types.js';

// The report of a dataset job: student vs teacher vs the un-distilled baseline on the held-out
// test split, with the task type's metrics against gold references (where rows have them) and
// against the teacher. The baseline of an ONNX classifier is the majority class of the teacher's
// training labels (what an untrained classifier can do best without reading the input); of a
// remote student, its base model as configured, when it is.

interface Scores {
  vsGold?: Record<string, number>;
  vsTeacher?: Record<string, number>;
  failedCalls: number;
}

/** One model's answers to the test split (null for a failed call) and their latency. */
async function runModel(model: ChatModel, test: readonly DatasetExample[]): Promise<{ answers: (string | null)[]; latency: LatencySummary }> {
  const answers = new Array<string | null>(test.length).fill(null);
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < test.length) {
      const i = next++;
      const t0 = performance.now();
      try {
        answers[i] = (await model.generate({ messages: test[i]!.messages })).text;
      } catch {
        answers[i] = null;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: model.hosting === 'in-process' ? 1 : 8 }, worker));
  return { answers, latency: summarizeLatencies(latencies) };
}

function scorer(spec: DistillationSpec, test: readonly DatasetExample[]) {
  const type: TaskType = spec.task_type;
  const labels = labelsOf(spec);
  const scoreOpts = { ...(labels ? { labels } : {}), maxSummaryWords: spec.prompt_settings.max_len_summary };
  const withGold = test.filter((e) => e.reference !== undefined).length;
  return (answers: readonly (string | null)[]): Scores => ({
    vsGold: withGold ? meanScores(test.flatMap((e, i) => (e.reference !== undefined ? [scoreAnswer(type, answers[i] ?? '', e.reference, scoreOpts)] : []))) : undefined,
    vsTeacher: test.length ? meanScores(test.map((e, i) => scoreAnswer(type, answers[i] ?? '', e.target, scoreOpts))) : undefined,
    failedCalls: answers.filter((a) => a === null).length,
  });
}

async function baselineOf(deps: Pick<DatasetJobsDeps, 'model'>, spec: DistillationSpec, input: ReportInput, score: (a: readonly (string | null)[]) => Scores) {
  if (isLabelTask(spec.task_type)) {
    const counts = new Map<string, number>();
    for (const e of input.train) if (e.label) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
    const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? '';
    return { kind: 'majority-class', description: `always answers '${majority}', the most frequent teacher label in training (an untrained classifier's best input-blind guess)`, ...score(input.test.map(() => majority)) };
  }
  if (spec.student.kind !== 'remote' || !spec.student.baseline) return { kind: 'none', description: 'name a configured model serving the base as student.baseline to compare with it' };
  let model: ChatModel | undefined;
  try {
    model = deps.model(spec.student.baseline);
  } catch {
    return { kind: 'none', description: `baseline '${spec.student.baseline}' is not a configured model: no baseline was run` };
  }
  const run = await runModel(model, input.test);
  return { kind: 'base-model', model: model.id, ...score(run.answers), latency: run.latency };
}

/** MT-Bench-style pairwise judging on a sample: does the student answer as well as the teacher? */
async function judgeOf(deps: Pick<DatasetJobsDeps, 'model'>, spec: DistillationSpec, test: readonly DatasetExample[], studentAnswers: readonly (string | null)[]) {
  if (!spec.judge || isLabelTask(spec.task_type)) return undefined;
  const sample = test.slice(0, spec.judge_sample);
  const judgements = await judgePairs(
    deps.model(spec.judge),
    sample.map((e, i) => ({ question: lastUserText(e.messages), studentAnswer: studentAnswers[i] ?? '', teacherAnswer: e.target })),
    { concurrency: 4 },
  );
  return { model: spec.judge, ...summarizeJudgements(judgements) };
}

export async function datasetJobReport(deps: Pick<DatasetJobsDeps, 'model'>, job: JobRecord, input: ReportInput): Promise<object> {
  const spec = specOf(job);
  const type: TaskType = spec.task_type;
  const test = input.test;
  const withGold = test.filter((e) => e.reference !== undefined).length;
  const score = scorer(spec, test);
  const student = await runModel(input.candidate, test);
  const generation = job.steps.generation && !job.steps.generation.pending ? (job.steps.generation as Stage1Summary) : undefined;
  const teacher = {
    model: spec.teacher,
    ...score(test.map((e) => e.target)),
    latency: generation?.latency,
    costUsdPer1kExamples: generation && generation.ok ? (generation.costUsd / generation.ok) * 1000 : undefined,
  };
  const baseline = await baselineOf(deps, spec, input, score);
  const studentScores = score(student.answers);
  const judge = await judgeOf(deps, spec, test, student.answers);
  const main = taskTypeSettings(type).metrics[0]!;
  const pick = (s: { vsGold?: Record<string, number>; vsTeacher?: Record<string, number> } | undefined) => s?.vsGold?.[main] ?? s?.vsTeacher?.[main];
  const sMain = pick(studentScores);
  const tMain = pick(teacher);
  const bMain = pick(baseline as { vsGold?: Record<string, number>; vsTeacher?: Record<string, number> });
  return {
    taskType: type,
    testExamples: test.length,
    goldReferences: withGold,
    mainMetric: `${main} (${withGold ? 'vs gold' : 'vs teacher'})`,
    student: { model: input.candidate.id, version: input.version.version, ...studentScores, latency: student.latency, agreementWithTeacher: input.evaluation.candidate.agreement, ...costLinesOf(input.version.metrics) },
    teacher,
    baseline,
    ...(judge ? { judge } : {}),
    summary: {
      student: sMain,
      teacher: tMain,
      baseline: bMain,
      teacherQualityKept: sMain !== undefined && tMain ? sMain / tMain : undefined,
      improvementOverBaseline: sMain !== undefined && bMain !== undefined ? sMain - bMain : undefined,
      speedUp: teacher.latency && student.latency.p50InMs > 0 ? teacher.latency.p50InMs / student.latency.p50InMs : undefined,
    },
  };
}

/** Stage 2's cost lines a remote trainer reported (Azure ML: training and hourly hosting), if any. */
function costLinesOf(metrics: Record<string, number> | undefined) {
  if (metrics?.trainingCostUsd === undefined) return {};
  return { cost: { trainingUsd: metrics.trainingCostUsd, hostingUsdPerHour: metrics.hostingUsdPerHour, estimatedTrainedTokens: metrics.estimatedTrainedTokens } };
}
