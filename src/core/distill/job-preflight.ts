import { DistilleryError, summarizeError, UpstreamError } from '../errors.js';
import type { ChatModelResult } from '../chat/chat-model-types.js';
import type { ChatModel, OperationOptions, Trainer } from '../ports.js';
import type { TaskConfig } from '../tasks/task-schema.js';
import type { DatasetRow, DistillationSpec } from './distillation-spec.js';
import { wantsSoftLabels } from './soft-labels.js';
import { teacherRequest } from './teacher-request.js';

// Preflight: what must hold before a job spends money (as Azure ML's DistillationJob validates
// first). A dataset spec is checked at submission — the teacher id exists and answers one sample
// inference, the student target is usable (a trainer for it; for remote students a configured,
// reachable fine-tuning resource) — and refused with 400 naming the field. A re-distillation is
// checked when its trigger fires (the student target only: its teacher answers are logged).

export interface PreflightDeps {
  /** A configured model by id; throws for an unknown id. */
  model(id: string): ChatModel;
  trainers: Readonly<Record<string, Trainer>>;
  /** Deadline of each check (the sample inference, the trainer's reachability). */
  timeoutInMs?: number;
}

export const preflightFailed = (message: string, param: string, code = 'preflight_failed') =>
  new DistilleryError(message, { status: 400, type: 'invalid_request_error', code, param });

/** The student target of a task: a trainer of its kind that says it can train it. */
export async function preflightStudent(deps: PreflightDeps, task: TaskConfig, options: OperationOptions = {}): Promise<void> {
  const kind = task.distill.trainer;
  const trainer = deps.trainers[kind];
  if (!trainer) throw preflightFailed(`No '${kind}' trainer runs in this deployment, so task '${task.name}' cannot be trained.`, 'student.trainer', 'trainer_unavailable');
  try {
    await withDeadline(deps, options, (signal) => trainer.preflight?.(task, { abortSignal: signal }) ?? Promise.resolve());
  } catch (err) {
    if (options.abortSignal?.aborted || (err instanceof DistilleryError && err.status === 400)) throw err;
    const cause = summarizeError(err);
    const ref = task.distill.fineTuning.modelRef;
    throw preflightFailed(`student: the '${kind}' training target${ref ? ` '${ref}'` : ''} is not usable (${cause.code}: ${cause.message}).`, ref ? 'student.modelRef' : 'student', 'student_target_unavailable');
  }
}

/**
 * The teacher of a spec: configured, and answering a sample row with the spec's own inference
 * parameters (so a parameter the endpoint refuses shows here too). Up to three rows are tried: one
 * answer is enough, a teacher that fails them all is refused with the last upstream cause. With
 * soft labels wanted, the sample also shows whether the teacher gives logprobs (soft-labels.ts):
 * `{ softLabels: false }` when it does not, and a 400 naming `hyperparameters.temperature` when
 * the spec set one, which hard labels could not apply.
 */
export async function preflightTeacher(deps: PreflightDeps, spec: DistillationSpec, samples: readonly DatasetRow[], options: OperationOptions = {}): Promise<{ softLabels?: false }> {
  let teacher: ChatModel;
  try {
    teacher = deps.model(spec.teacher);
  } catch {
    throw preflightFailed(`teacher: no model '${spec.teacher}' is configured.`, 'teacher', 'teacher_not_found');
  }
  let failure: unknown;
  for (const row of samples.slice(0, 3)) {
    const request = teacherRequest(spec, row);
    let result: ChatModelResult;
    try {
      result = await withDeadline(deps, options, (signal) => teacher.generate(request, { abortSignal: signal }));
    } catch (err) {
      if (options.abortSignal?.aborted) throw err;
      // Rate limited is alive: the id and credentials work, and stage 1 honours retry-after.
      if (isThrottled(err)) return {};
      failure = err;
      // Soft labels by default must not cost a teacher that refuses the logprobs parameter.
      if (isRefused(err) && wantsSoftLabels(spec) && spec.teacher_settings.soft_labels === undefined) {
        const hard = { ...spec, teacher_settings: { ...spec.teacher_settings, soft_labels: false } };
        const answered = await withDeadline(deps, options, (signal) => teacher.generate(teacherRequest(hard, row), { abortSignal: signal })).then(() => true, () => false);
        if (answered) return withoutSoftLabels(spec);
      }
      continue;
    }
    return request.logprobs && !result.logprobs?.length ? withoutSoftLabels(spec) : {};
  }
  const cause = summarizeError(failure);
  throw preflightFailed(`teacher: '${spec.teacher}' did not answer a sample inference (${cause.code}: ${cause.message}).`, 'teacher', 'teacher_unavailable');
}

/** The teacher gives no logprobs: hard labels, unless the spec asked for what only soft ones allow. */
function withoutSoftLabels(spec: DistillationSpec): { softLabels: false } {
  if (spec.teacher_settings.soft_labels === true) {
    throw preflightFailed(`teacher_settings.soft_labels: teacher '${spec.teacher}' gives no logprobs.`, 'teacher_settings.soft_labels', 'soft_labels_unavailable');
  }
  if (spec.hyperparameters.temperature !== undefined) {
    throw preflightFailed(
      `hyperparameters.temperature cannot apply: teacher '${spec.teacher}' gives no logprobs, so the student learns hard labels only. Remove temperature.`,
      'hyperparameters.temperature',
      'temperature_not_applicable',
    );
  }
  return { softLabels: false };
}

const isRefused = (err: unknown) => err instanceof UpstreamError && err.upstreamStatus === 400;

const isThrottled = (err: unknown) =>
  (err instanceof UpstreamError && err.upstreamStatus === 429) || (err instanceof DistilleryError && err.status === 429);

async function withDeadline<T>(deps: PreflightDeps, options: OperationOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(deps.timeoutInMs ?? 30_000);
  return fn(options.abortSignal ? AbortSignal.any([options.abortSignal, deadline]) : deadline);
}
