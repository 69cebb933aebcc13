import { classificationInput } from './onnx-student-model.js';
import { writeStudentArtifacts, type WriteStudentOptions } from './student-artifacts.js';
import { JobFailure } from '../../core/distill/job-runner.js';
import type { DatasetExample } from '../../core/distill/dataset-builder.js';
import type { ArtifactStore, OperationOptions, TrainedModel, Trainer, TrainRequest } from '../../core/ports.js';
import type { TrainingExample } from './train-student.js';
import { trainStudentInWorker } from './train-student-in-worker.js';
import { calibrationMetrics, type StudentCalibration } from './calibrate-student.js';
import type { CascadeTarget } from '../../core/eval/risk-coverage.js';
import type { TaskConfig } from '../../core/tasks/task-schema.js';

// Stage 2 on the local machine: trains the in-process classifier student on the teacher's labels
// (and its soft distribution when the teacher gave logprobs) in a worker thread, exports it to
// ONNX and writes it under models/<task>/<job>/ — the same path for the same job, so a retried
// step overwrites its own half-finished output instead of leaving orphans.

export const studentArtifactPathOf = (task: string, jobId: string) => `models/${task}/${jobId}`;

/** The quality target of the task's cascade, when it routes by one. */
export function cascadeTargetOf(task: TaskConfig): CascadeTarget | undefined {
  const policy = task.routing.policy;
  return policy.type === 'cascade' ? policy.target : undefined;
}

function toTrainingExample(e: DatasetExample): TrainingExample {
  return {
    text: classificationInput(e.messages),
    label: e.label ?? null,
    ...(e.teacherDistribution ? { teacherDistribution: e.teacherDistribution } : {}),
  };
}

export class LocalOnnxTrainer implements Trainer {
  readonly kind = 'local-onnx';

  constructor(private readonly options: { artifacts: ArtifactStore; now?: () => Date }) {}

  async train(request: TrainRequest, options: OperationOptions & { onProgress?: (fraction: number, message?: string) => void } = {}): Promise<TrainedModel> {
    const classification = request.task.classification;
    if (!classification) {
      throw new JobFailure(`Task '${request.task.name}' has no classification settings: the local ONNX trainer trains classifier students only.`, 'trainer_mismatch');
    }
    const target = cascadeTargetOf(request.task);
    const result = await trainStudentInWorker(
      {
        labels: classification.labels,
        train: request.train.map(toTrainingExample),
        ...(request.validation.length ? { validation: request.validation.map(toTrainingExample) } : {}),
      },
      classification.student,
      {
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
        onProgress: (p) => options.onProgress?.(p.fraction, `epoch ${p.epoch}/${p.epochs}: validation accuracy ${p.validationAccuracy.toFixed(3)}`),
        // Temperature scaling always; a τ only when the task's cascade has a quality target.
        calibrate: { ...(target ? { target } : {}) },
      },
    );
    const m = result.metrics;
    // The kept candidate's size and featurize + forward latency (each candidate's are in lineage).
    const chosen = result.candidates?.find((c) => c.chosen);
    // Without a validation set its metrics are NaN: registries store finite numbers only.
    const metrics = Object.fromEntries(
      Object.entries({
        trainExamples: m.trainExamples,
        validationExamples: m.validationExamples,
        softLabelExamples: m.softLabelExamples,
        validationAccuracy: m.validationAccuracy,
        validationLoss: m.validationLoss,
        trainLoss: m.trainLoss,
        epochsRun: m.epochsRun,
        trainingDurationInMs: m.durationInMs,
        ...calibrationMetrics(result.calibration),
        ...(chosen ? { candidateP50InMs: chosen.p50InMs, candidateP99InMs: chosen.p99InMs, modelSizeInBytes: chosen.sizeInBytes } : {}),
      }).filter(([, v]) => Number.isFinite(v)),
    );
    // The candidate kinds tried and the one kept go into the version's lineage with the hyperparameters.
    const hyperparameters = { ...(result.hyperparameters as unknown as Record<string, unknown>), ...(result.candidates ? { candidates: result.candidates } : {}) };
    const artifactPath = studentArtifactPathOf(request.task.name, request.jobId);
    await writeStudentArtifacts(this.options.artifacts, artifactPath, result.weights, {
      task: request.task.name,
      labelFormat: classification.labelFormat,
      lineage: { jobId: request.jobId, datasetPath: request.datasetPath, teacherModel: request.teacherModel },
      metrics,
      hyperparameters,
      ...sidecarCalibration(result.calibration),
      createdAt: (this.options.now?.() ?? new Date()).toISOString(),
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    return { kind: 'onnx', artifactPath, hyperparameters, metrics };
  }
}

function sidecarCalibration(c: StudentCalibration | undefined): Pick<WriteStudentOptions, 'calibration' | 'cascade'> {
  if (!c) return {};
  return {
    calibration: { temperature: c.temperature, eceBefore: c.eceBefore, eceAfter: c.eceAfter, n: c.n },
    ...(c.cascade
      ? { cascade: { threshold: c.cascade.threshold, target: c.cascade.target, coverage: c.cascade.coverage, agreementLowerBound: c.cascade.agreementLowerBound, n: c.cascade.n } }
      : {}),
  };
}
