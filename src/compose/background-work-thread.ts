import { Worker } from 'node:worker_threads';
import { workerScript } from '../adapters/shared/worker-script.js';
import type { BackgroundWork } from './background-work.js';

// The job worker and trigger scheduler of a standalone server, on a thread of their own: dataset
// builds, evaluation and report building are seconds of CPU and synchronous store reads, and the
// serving thread must never wait on them (DESIGN.md rule 14). The thread composes its own
// Distillery from the same settings; both share the stores (SQLite in WAL mode, or Azure), so
// nothing but start and stop crosses the thread boundary.

export interface BackgroundThreadMessage {
  type: 'started' | 'log' | 'stopped' | 'failed';
  message?: string;
}

export interface BackgroundThreadOptions {
  /** App settings of the thread's Distillery (the serving one's, with the resolved document inline). */
  env: Record<string, string | undefined>;
  worker?: boolean;
  scheduler?: boolean;
  log?: (message: string) => void;
}

export function startBackgroundWorkInThread(options: BackgroundThreadOptions): Promise<BackgroundWork> {
  const spec = workerScript(import.meta.url, 'background-work-thread-entry');
  const worker = new Worker(spec.script, {
    eval: spec.eval,
    workerData: { env: options.env, worker: options.worker ?? true, scheduler: options.scheduler ?? true },
  });
  let stopped: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const stop = () =>
    (stopped ??= (async () => {
      worker.postMessage('stop');
      // A thread that does not finish its current step in time is terminated: its job is
      // redelivered by the queue and resumes from the last saved step.
      const deadline = setTimeout(() => void worker.terminate(), 30_000);
      await exited;
      clearTimeout(deadline);
    })());
  return new Promise<BackgroundWork>((resolve, reject) => {
    worker.on('message', (msg: BackgroundThreadMessage) => {
      if (msg.type === 'log') options.log?.(msg.message ?? '');
      else if (msg.type === 'started') resolve({ stop });
      else if (msg.type === 'failed') reject(new Error(`The background work thread failed to start: ${msg.message}`));
    });
    worker.once('error', (err) => {
      options.log?.(`background work thread failed: ${err.message}`);
      reject(err);
    });
    void exited.then(() => reject(new Error('The background work thread exited before it started.')));
  });
}
