import { Worker } from 'node:worker_threads';
import { DistilleryError } from '../../core/errors.js';
import type { StudentHyperparameters } from '../../core/tasks/classification-task.js';
import { workerScript } from '../shared/worker-script.js';
import type { CascadeTarget } from '../../core/eval/risk-coverage.js';
import type { StudentCalibration } from './calibrate-student.js';
import type { CandidateRecord } from './train-candidates.js';
import type { TrainingData, TrainingProgress, TrainOptions, TrainResult } from './train-student.js';

// Runs the trainer in a worker thread so a Function instance (or the standalone server) keeps
// answering requests while a student trains: training is seconds of tight CPU loops.

const ENTRY = 'train-student-worker-entry';

type WorkerMessage =
  | { type: 'progress'; progress: TrainingProgress }
  | { type: 'result'; result: CalibratedTrainResult }
  | { type: 'error'; error: { status: number; code: string; message: string }; param: string | null };

export interface CalibratedTrainResult extends TrainResult {
  /** Every candidate kind trained and which one was kept (train-candidates.ts). */
  candidates?: CandidateRecord[];
  /** Present when calibration was asked for and the validation split had labelled examples. */
  calibration?: StudentCalibration;
}

export function trainStudentInWorker(
  data: TrainingData,
  hyperparameters: Partial<StudentHyperparameters> | unknown,
  options: TrainOptions & { calibrate?: { target?: CascadeTarget } } = {},
): Promise<CalibratedTrainResult> {
  return new Promise<CalibratedTrainResult>((resolve, reject) => {
    if (options.abortSignal?.aborted) {
      reject(abortError());
      return;
    }
    const spec = workerScript(import.meta.url, ENTRY);
    const worker = new Worker(spec.script, { workerData: { data, hyperparameters, ...(options.calibrate ? { calibrate: options.calibrate } : {}) }, eval: spec.eval });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.abortSignal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = () => finish(() => reject(abortError()));
    options.abortSignal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') options.onProgress?.(msg.progress);
      else if (msg.type === 'result') finish(() => resolve(msg.result));
      else
        finish(() =>
          reject(
            new DistilleryError(msg.error.message, {
              status: msg.error.status,
              type: msg.error.status >= 500 ? 'server_error' : 'invalid_request_error',
              code: msg.error.code,
              param: msg.param,
            }),
          ),
        );
    });
    worker.on('error', (err) =>
      finish(() => reject(new DistilleryError(`Training worker failed: ${err.message}`, { status: 500, type: 'server_error', code: 'training_failed', cause: err }))),
    );
    worker.on('exit', (code) =>
      finish(() => reject(new DistilleryError(`Training worker exited with code ${code}.`, { status: 500, type: 'server_error', code: 'training_failed' }))),
    );
  });
}

function abortError(): DistilleryError {
  return new DistilleryError('Training was cancelled.', { status: 499, type: 'server_error', code: 'training_aborted' });
}
