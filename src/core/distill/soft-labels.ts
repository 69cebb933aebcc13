import { isLabelTask, type TaskType } from './task-types.js';

// When a dataset job trains on the teacher's distribution (soft labels) instead of its top label
// only. On by default for label tasks taught to the in-process student: the first answer token's
// top logprobs are asked for in stage 1, and the KD temperature then softens them. Whatever keeps
// them from applying is named, so `hyperparameters.temperature` is refused rather than ignored.

/** The fields of a distillation spec this rule reads (structural: no import of the spec module). */
export interface SoftLabelSpec {
  task_type: TaskType;
  student: { kind: string };
  teacher_settings: { soft_labels?: boolean | undefined };
  prompt_settings: { enable_chain_of_thought: boolean };
}

/** Why the teacher's distribution cannot reach the student, whatever soft_labels says; undefined when it can. */
export function softLabelsUnavailable(spec: SoftLabelSpec): string | undefined {
  if (!isLabelTask(spec.task_type)) return `'${spec.task_type}' answers are text, not a distribution over labels`;
  if (spec.student.kind !== 'onnx-classifier') return 'a remote student is fine-tuned on the teacher\'s text, not on its distribution';
  if (spec.prompt_settings.enable_chain_of_thought) return 'with chain-of-thought the first answer token is reasoning, not the label';
  return undefined;
}

/** Whether stage 1 asks the teacher for logprobs: on unless turned off or unavailable. */
export function wantsSoftLabels(spec: SoftLabelSpec): boolean {
  return spec.teacher_settings.soft_labels !== false && softLabelsUnavailable(spec) === undefined;
}

/** Why `hyperparameters.temperature` cannot apply (the student learns hard labels only); undefined when it can. */
export function temperatureUnavailable(spec: SoftLabelSpec): string | undefined {
  const why = softLabelsUnavailable(spec);
  if (why) return `temperature softens the teacher's distribution, and ${why}`;
  if (spec.teacher_settings.soft_labels === false) return 'temperature softens the teacher\'s distribution, and teacher_settings.soft_labels is false (hard labels only)';
  return undefined;
}
