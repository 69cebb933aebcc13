import { DistilleryError, summarizeError, UpstreamError } from '../errors.js';
import type { ChatModel, OperationOptions, Trainer } from '../ports.js';
import type { TaskConfig } from '../tasks/task-schema.js';
import type { DatasetRow, DistillationSpec } from './distillation-spec.js';
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
 * answer is enough, a teacher that fails them all is refused with the last upstream cause.
 */
export async function preflightTeacher(deps: PreflightDeps, spec: DistillationSpec, samples: readonly DatasetRow[], options: OperationOptions = {}): Promise<void> {
  let teacher: ChatModel;
  try {
    teacher = deps.model(spec.teacher);
  } catch {
    throw preflightFailed(`teacher: no model '${spec.teacher}' is configured.`, 'teacher', 'teacher_not_found');
  }
  let failure: unknown;
  for (const row of samples.slice(0, 3)) {
    try {
      await withDeadline(deps, options, (signal) => teacher.generate(teacherRequest(spec, row), { abortSignal: signal }));
      return;
    } catch (err) {
      if (options.abortSignal?.aborted) throw err;
      // Rate limited is alive: the id and credentials work, and stage 1 honours retry-after.
      if (isThrottled(err)) return;
      failure = err;
    }
  }
  const cause = summarizeError(failure);
  throw preflightFailed(`teacher: '${spec.teacher}' did not answer a sample inference (${cause.code}: ${cause.message}).`, 'teacher', 'teacher_unavailable');
}

const isThrottled = (err: unknown) =>
  (err instanceof UpstreamError && err.upstreamStatus === 429) || (err instanceof DistilleryError && err.status === 429);

async function withDeadline<T>(deps: PreflightDeps, options: OperationOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(deps.timeoutInMs ?? 30_000);
  return fn(options.abortSignal ? AbortSignal.any([options.abortSignal, deadline]) : deadline);
}
