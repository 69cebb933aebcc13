import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../config.js';
import type { BackgroundThreadMessage } from './background-work-thread.js';
import { createDistillery } from './index.js';

// Entry of the background work thread (see background-work-thread.ts).

const data = workerData as { env: Record<string, string | undefined>; worker: boolean; scheduler: boolean };
const post = (msg: BackgroundThreadMessage) => parentPort?.postMessage(msg);

try {
  const distillery = await createDistillery(loadConfig(data.env), { log: (message) => post({ type: 'log', message }) });
  const work = distillery.startBackgroundWork({ worker: data.worker, scheduler: data.scheduler });
  parentPort?.on('message', (msg) => {
    if (msg !== 'stop') return;
    void (async () => {
      await work.stop();
      await distillery.close();
      post({ type: 'stopped' });
      parentPort?.close();
    })();
  });
  post({ type: 'started' });
} catch (err) {
  post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  parentPort?.close();
}
