import { parentPort, workerData } from 'node:worker_threads';
import { summarizeError } from '../../core/errors.js';
import type { CascadeTarget } from '../../core/eval/risk-coverage.js';
import { calibrateStudent } from './calibrate-student.js';
import { trainCandidates } from './train-candidates.js';
import { encoderValidationLogits, prepareEncoderCandidate } from './encoder-candidate.js';
import type { TrainingData } from './train-student.js';

// Worker-thread entry of the trainer: runs trainStudent off the serving thread and posts
// progress, then the weights (their buffers transferred, not copied). Cancellation is the
// parent terminating the worker.

const { data, hyperparameters, calibrate } = workerData as {
  data: TrainingData;
  hyperparameters: unknown;
  calibrate?: { target?: CascadeTarget };
};
const port = parentPort!;
try {
  // The encoder candidate's embeddings (or why it is skipped) first: the encoder runs asynchronously.
  const encoder = await prepareEncoderCandidate(data, hyperparameters);
  const result = trainCandidates(data, hyperparameters, {
    onProgress: (progress) => port.postMessage({ type: 'progress', progress }),
    encoder,
  });
  const w = result.weights;
  // Calibrated on the validation split before the weights' buffers are handed over.
  const calibration = calibrate && data.validation ? calibrateStudent(w, data.validation, calibrate.target, encoderValidationLogits(w, encoder)) : undefined;
  const buffers = [w.embedding, w.hiddenWeight, w.hiddenBias, w.outputWeight, w.outputBias]
    .filter((a): a is Float32Array => a !== null)
    .map((a) => a.buffer as ArrayBuffer);
  port.postMessage({ type: 'result', result: { ...result, ...(calibration ? { calibration } : {}) } }, buffers);
} catch (err) {
  port.postMessage({ type: 'error', error: summarizeError(err), param: (err as { param?: unknown }).param ?? null });
}
