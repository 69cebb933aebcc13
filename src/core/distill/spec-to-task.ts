import type { JobRecord } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import { createLabelParser } from '../tasks/classification-task.js';
import { taskSchema, type TaskConfig } from '../tasks/task-schema.js';
import { splitOf, type Dataset, type DatasetExample, type Split } from './dataset-builder.js';
import { labelsOf, parseDistillationSpec, taskNameOf, type DistillationSpec } from './distillation-spec.js';
import { JobFailure } from './job-failure.js';

// From a distillation job spec to the task it trains: the configured task with the spec laid over
// it (or one made from the spec), and the spec's own train/validation splits kept in the dataset.

/** The task a dataset job trains: the configured one with the spec laid over it, or one made from the spec. */
export function taskConfigFromSpec(spec: DistillationSpec, configured?: TaskConfig): TaskConfig {
  const name = taskNameOf(spec);
  const labels = labelsOf(spec);
  const hp = spec.hyperparameters;
  const base = configured ?? taskSchema.parse({ name, teacher: spec.teacher, description: spec.description || `dataset distillation (${spec.task_type})` });
  const onnx = spec.student.kind === 'onnx-classifier';
  const classification = labels
    ? {
        labels,
        labelFormat: base.classification?.labelFormat ?? { type: 'label' as const },
        student: {
          ...base.classification?.student,
          ...(hp.learning_rate !== undefined ? { learning_rate: hp.learning_rate } : {}),
          ...(hp.batch_size !== undefined ? { batch_size: hp.batch_size } : {}),
          ...(hp.num_epochs !== undefined ? { epochs: hp.num_epochs } : {}),
          ...(hp.temperature !== undefined ? { temperature: hp.temperature } : {}),
        },
      }
    : base.classification;
  return taskSchema.parse({
    ...base,
    teacher: spec.teacher,
    student: base.student ?? { source: 'registry' },
    ...(classification ? { classification } : {}),
    distill: {
      ...base.distill,
      trainer: onnx ? 'local-onnx' : spec.student.kind === 'remote' && spec.student.trainer ? spec.student.trainer : base.distill.trainer === 'azure-ml' ? 'azure-ml' : 'azure-openai',
      // Runtime tasks are distilled from their dataset only: no traffic threshold starts a job.
      ...(configured ? {} : { enabled: false, threshold: null }),
      // The spec's task type picks the gate's metric and default bar (math: exact match, summaries: ROUGE-L...).
      gate: { ...base.distill.gate, ...spec.gate, taskType: spec.task_type },
      dataset: { ...base.distill.dataset, acceptTruncated: spec.teacher_settings.accept_truncated },
      fineTuning: {
        ...base.distill.fineTuning,
        ...(spec.student.kind === 'remote'
          ? {
              baseModel: spec.student.baseModel,
              ...(spec.student.modelRef ? { modelRef: spec.student.modelRef } : {}),
              ...(spec.student.registeredModel ? { registeredModel: spec.student.registeredModel } : {}),
            }
          : {}),
        ...(hp.learning_rate_multiplier !== undefined ? { learning_rate_multiplier: hp.learning_rate_multiplier } : {}),
        ...(hp.num_epochs !== undefined ? { n_epochs: Math.min(50, hp.num_epochs) } : {}),
        ...(hp.batch_size !== undefined ? { batch_size: Math.min(256, hp.batch_size) } : {}),
      },
    },
  });
}

/**
 * Dataset jobs put the spec's splits first: validation rows become the held-out test split the
 * gate and the report use; training rows split into train and validation (early stopping) by the
 * usual prompt hash. Without validation rows the builder's hash split stands.
 */
export function applySourceSplits(dataset: Dataset, splits: ReadonlyMap<string, 'train' | 'validation'>, validationShare: number): Dataset {
  if (![...splits.values()].includes('validation')) return dataset;
  const examples = dataset.examples.map((e): DatasetExample => {
    const source = splits.get(e.id);
    const split: Split = source === 'validation' ? 'test' : splitOf(e.promptHash, validationShare, 0);
    return { ...e, split };
  });
  const counts = { ...dataset.manifest.counts, train: 0, validation: 0, test: 0 };
  const classBalance: Record<string, Record<Split, number>> | undefined = dataset.manifest.classBalance ? {} : undefined;
  for (const e of examples) {
    counts[e.split]++;
    if (classBalance && e.label) (classBalance[e.label] ??= { train: 0, validation: 0, test: 0 })[e.split]++;
  }
  return {
    examples,
    manifest: {
      ...dataset.manifest,
      counts,
      ...(classBalance ? { classBalance } : {}),
      splitRule: `spec validation_data → test; training_data: hash53(normalized prompt) < ${validationShare} → validation, else train`,
    },
  };
}

export function specOf(job: JobRecord): DistillationSpec {
  try {
    return parseDistillationSpec(job.spec);
  } catch (err) {
    throw new JobFailure(`Job '${job.id}' has no valid distillation spec: ${(err as Error).message}`, 'invalid_distillation_spec');
  }
}

/** The runtime task of a dataset job (undefined for other jobs). */
export function taskOfSpecJob(job: JobRecord, tasks: { get(name: string): TaskRuntime | undefined }): TaskRuntime | undefined {
  if (job.kind !== 'dataset' || job.spec === undefined) return undefined;
  const config = taskConfigFromSpec(specOf(job), tasks.get(job.task)?.config);
  return config.classification ? { config, parseLabel: createLabelParser(config.classification) } : { config };
}
