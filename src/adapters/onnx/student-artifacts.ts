import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DistilleryError, invalidRequest } from '../../core/errors.js';
import type { ArtifactStore, OperationOptions } from '../../core/ports.js';
import { featurizerSettingsSchema, labelFormatSchema } from '../../core/tasks/classification-task.js';
import type { StudentWeights } from './student-weights.js';
import { exportStudentOnnx, STUDENT_INPUTS, STUDENT_OUTPUTS } from './export-student-onnx.js';
import { encoderReferenceSchema } from '../../core/tasks/encoder-settings.js';
import { exportEncoderHeadOnnx } from './encoder-head.js';

// A student on disk (or in Blob Storage): `<prefix>/model.onnx` and the sidecar
// `<prefix>/model.json` holding what the graph cannot — labels, label format, featurizer settings,
// lineage and metrics. The sidecar is written last and carries the model's SHA-256, so a reader
// never serves a half-uploaded or mismatched model.

export const STUDENT_MODEL_FILE = 'model.onnx';
export const STUDENT_SIDECAR_FILE = 'model.json';
export const STUDENT_SIDECAR_FORMAT = 'distillery.student.v1';

export const studentSidecarSchema = z.object({
  format: z.literal(STUDENT_SIDECAR_FORMAT),
  task: z.string().min(1),
  labels: z.array(z.string().min(1)).min(2),
  labelFormat: labelFormatSchema,
  featurizer: featurizerSettingsSchema,
  embeddingDim: z.number().int().positive(),
  hiddenSize: z.number().int().min(0),
  inputs: z.object({ ids: z.string(), mask: z.string() }),
  outputs: z.object({ logits: z.string(), probabilities: z.string() }),
  modelFile: z.string().min(1),
  modelSha256: z.string().regex(/^[0-9a-f]{64}$/),
  modelSizeInBytes: z.number().int().positive(),
  lineage: z.record(z.string(), z.unknown()).default({}),
  metrics: z.record(z.string(), z.number()).default({}),
  hyperparameters: z.record(z.string(), z.unknown()).default({}),
  /** Temperature scaling fitted on the validation split; serving divides the logits by it. */
  calibration: z
    .object({ temperature: z.number().positive(), eceBefore: z.number(), eceAfter: z.number(), n: z.number().int().min(0) })
    .optional(),
  /** The cascade τ chosen for the task's quality target on the validation split. */
  cascade: z
    .object({
      threshold: z.number().min(0).max(1),
      target: z.object({ minAgreement: z.number().optional(), maxAccuracyLoss: z.number().optional(), confidence: z.number().optional() }),
      coverage: z.number(),
      agreementLowerBound: z.number(),
      n: z.number().int().min(0),
    })
    .optional(),
  /**
   * The encoder student: `model.onnx` is only its head (input `encoder.headInput`); the encoder
   * runs first, from the folder named here, checked against these checksums. `inputs` and
   * `featurizer` are not used then.
   */
  encoder: encoderReferenceSchema.optional(),
  createdAt: z.string(),
});

export type StudentSidecar = z.infer<typeof studentSidecarSchema>;

export interface StudentArtifacts {
  model: Uint8Array;
  sidecar: StudentSidecar;
}

export interface WriteStudentOptions extends OperationOptions {
  task: string;
  labelFormat?: z.input<typeof labelFormatSchema>;
  lineage?: Record<string, unknown>;
  metrics?: Record<string, number>;
  hyperparameters?: Record<string, unknown>;
  calibration?: StudentSidecar['calibration'];
  cascade?: StudentSidecar['cascade'];
  createdAt?: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function checkArtifactPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length === 0) throw invalidRequest('Artifact prefix must be a non-empty string.', 'artifactPath');
  return prefix.replace(/\/+$/u, '');
}

/** Builds the ONNX bytes and the sidecar of trained weights (no I/O). */
export function buildStudentArtifacts(weights: StudentWeights, options: WriteStudentOptions): StudentArtifacts {
  const model = weights.encoder ? exportEncoderHeadOnnx(weights, { metadata: { task: options.task } }) : exportStudentOnnx(weights, { metadata: { task: options.task } });
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(options.metrics ?? {})) if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
  const sidecar = studentSidecarSchema.parse({
    format: STUDENT_SIDECAR_FORMAT,
    task: options.task,
    labels: weights.labels,
    labelFormat: options.labelFormat ?? { type: 'label' },
    featurizer: weights.featurizer,
    embeddingDim: weights.embeddingDim,
    hiddenSize: weights.hiddenSize,
    inputs: STUDENT_INPUTS,
    outputs: STUDENT_OUTPUTS,
    modelFile: STUDENT_MODEL_FILE,
    modelSha256: sha256(model),
    modelSizeInBytes: model.byteLength,
    lineage: options.lineage ?? {},
    metrics,
    hyperparameters: options.hyperparameters ?? {},
    ...(options.calibration ? { calibration: options.calibration } : {}),
    ...(options.cascade ? { cascade: options.cascade } : {}),
    ...(weights.encoder ? { encoder: weights.encoder } : {}),
    createdAt: options.createdAt ?? new Date().toISOString(),
  });
  return { model, sidecar };
}

/** Exports and uploads a student under `prefix`; returns what was written. */
export async function writeStudentArtifacts(
  store: ArtifactStore,
  prefix: string,
  weights: StudentWeights,
  options: WriteStudentOptions,
): Promise<StudentArtifacts> {
  const base = checkArtifactPrefix(prefix);
  const artifacts = buildStudentArtifacts(weights, options);
  await store.upsert(`${base}/${STUDENT_MODEL_FILE}`, artifacts.model, {
    contentType: 'application/octet-stream',
    abortSignal: options.abortSignal,
  });
  await store.upsert(`${base}/${STUDENT_SIDECAR_FILE}`, JSON.stringify(artifacts.sidecar, null, 2), {
    contentType: 'application/json',
    abortSignal: options.abortSignal,
  });
  return artifacts;
}

const corrupt = (message: string) =>
  new DistilleryError(message, { status: 500, type: 'server_error', code: 'artifact_corrupt' });

/** Reads and checks a student; undefined when its sidecar is absent (not, or not fully, written). */
export async function readStudentArtifacts(store: ArtifactStore, prefix: string, options?: OperationOptions): Promise<StudentArtifacts | undefined> {
  const base = checkArtifactPrefix(prefix);
  const sidecarBytes = await store.get(`${base}/${STUDENT_SIDECAR_FILE}`, options);
  if (sidecarBytes === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(sidecarBytes));
  } catch {
    throw corrupt(`Student sidecar '${base}/${STUDENT_SIDECAR_FILE}' is not JSON.`);
  }
  const parsed = studentSidecarSchema.safeParse(json);
  if (!parsed.success) throw corrupt(`Student sidecar '${base}/${STUDENT_SIDECAR_FILE}' is invalid: ${parsed.error.issues[0]?.message}`);
  const sidecar = parsed.data;
  const model = await store.get(`${base}/${sidecar.modelFile}`, options);
  if (model === undefined) throw corrupt(`Student model '${base}/${sidecar.modelFile}' is missing.`);
  if (model.byteLength !== sidecar.modelSizeInBytes || sha256(model) !== sidecar.modelSha256) {
    throw corrupt(`Student model '${base}/${sidecar.modelFile}' does not match its sidecar checksum.`);
  }
  return { model, sidecar };
}
