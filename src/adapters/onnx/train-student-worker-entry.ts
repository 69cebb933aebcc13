import { parentPort, workerData } from 'node:worker_threads';
import { summarizeError } from '../../core/errors.js';
import { trainStudent, type TrainingData } from './train-student.js';

// Worker-thread entry of the trainer: runs trainStudent off the serving thread and posts
// progress, then the weights (their buffers transferred, not copied). Cancellation is the
// parent terminating the worker.

const { data, hyperparameters } = workerData as { data: TrainingData; hyperparameters: unknown };
const port = parentPort!;
try {
  const result = trainStudent(data, hyperparameters, {
    onProgress: (progress) => port.postMessage({ type: 'progress', progress }),
  });
  const w = result.weights;
  const buffers = [w.embedding, w.hiddenWeight, w.hiddenBias, w.outputWeight, w.outputBias]
    .filter((a): a is Float32Array => a !== null)
    .map((a) => a.buffer as ArrayBuffer);
  port.postMessage({ type: 'result', result }, buffers);
} catch (err) {
  port.postMessage({ type: 'error', error: summarizeError(err), param: (err as { param?: unknown }).param ?? null });
}
