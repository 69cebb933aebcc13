import type { ChatModel } from '../ports.js';
import type { DatasetExample } from './dataset-builder.js';
import type { GateSettings, ResolvedGate } from './distill-settings.js';
import type { JobSteps } from './job-steps.js';
import { scoreAnswer } from './task-types.js';

// A generative gate's bar set from the teacher's own variance. A free-text student is scored by
// chrF / ROUGE-L against one teacher answer; the teacher itself, asked the same prompt again, does
// not score 1 against that answer — its self-agreement is what a perfect imitation would reach.
// So the bar is `factor` × self-agreement, measured by asking the teacher twice on the first
// `samples` test prompts (2 × samples teacher calls per evaluation) and scoring the second
// answer against the first with the gate's metric. factor 0.9 (the default): the student must
// keep 90% of the overlap the teacher has with itself. Used only when the task sets no
// `minAgreement`; when fewer than 2 prompts got two answers the type's default bar stays.
// Measured once per job: the evaluation step saves the result on the job record
// (`steps.teacherSelfAgreement`) before it goes on, and a redelivered message reuses it.

export interface TeacherSelfAgreement {
  metric: ResolvedGate['metric'];
  /** Mean self-agreement of the teacher (0..1) over `n` prompts. */
  selfAgreement: number;
  n: number;
  factor: number;
  /** The resolved bar: factor × selfAgreement. */
  minAgreement: number;
  /** Prompts skipped because a teacher call failed. */
  failed: number;
}

/** Whether the gate asks for calibration and can use it (free-text metric, no configured bar). */
export function wantsSelfAgreement(settings: GateSettings, gate: ResolvedGate): boolean {
  return settings.calibrateFromTeacher !== undefined && settings.minAgreement === undefined && (gate.metric === 'chrF' || gate.metric === 'rougeL');
}

/**
 * The measurement an earlier delivery of the same job saved, when it still fits the gate (same
 * metric, same factor); otherwise undefined and the teacher is asked again.
 */
export function savedTeacherSelfAgreement(steps: JobSteps | undefined, gate: ResolvedGate, factor: number): TeacherSelfAgreement | undefined {
  const saved = steps?.teacherSelfAgreement;
  if (!saved || saved.metric !== gate.metric || saved.factor !== factor) return undefined;
  return { ...saved, metric: gate.metric };
}

export async function measureTeacherSelfAgreement(input: {
  teacher: ChatModel;
  gate: ResolvedGate;
  test: readonly DatasetExample[];
  samples: number;
  factor: number;
  abortSignal?: AbortSignal;
}): Promise<TeacherSelfAgreement | undefined> {
  const { gate } = input;
  const options = input.abortSignal ? { abortSignal: input.abortSignal } : {};
  const scores: number[] = [];
  let failed = 0;
  for (const ex of input.test.slice(0, input.samples)) {
    try {
      const [a, b] = await Promise.all([input.teacher.generate({ messages: ex.messages }, options), input.teacher.generate({ messages: ex.messages }, options)]);
      scores.push(scoreAnswer(gate.taskType, b.text, a.text)[gate.metric] ?? 0);
    } catch (err) {
      input.abortSignal?.throwIfAborted();
      failed++;
    }
  }
  if (scores.length < 2) return undefined;
  const selfAgreement = scores.reduce((s, v) => s + v, 0) / scores.length;
  const round4 = (v: number) => Math.round(v * 10_000) / 10_000;
  return {
    metric: gate.metric,
    selfAgreement: round4(selfAgreement),
    n: scores.length,
    factor: input.factor,
    minAgreement: round4(Math.min(1, input.factor * selfAgreement)),
    failed,
  };
}
