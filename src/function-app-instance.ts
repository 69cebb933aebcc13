import { createDistillery, type Distillery } from './compose/index.js';
import { loadConfig } from './config.js';
import { startTelemetry } from './telemetry.js';

// One Distillery per Functions worker process, built on first use from the app settings and kept
// for the life of the instance (cold start pays for it once; warm invocations reuse it). Each
// task's promoted in-process student starts loading as soon as the instance is built, unawaited:
// the first request is answered without waiting for it (issue 21), and a student request arriving
// before it is ready waits for that one load only.

let instance: Promise<Distillery> | undefined;

export function getDistillery(): Promise<Distillery> {
  instance ??= (async () => {
    const config = loadConfig(process.env);
    if (config.settings.APPLICATIONINSIGHTS_CONNECTION_STRING) await startTelemetry(config.env);
    const distillery = await createDistillery(config);
    // The Node worker forwards console output to the host's logs (App Insights traces).
    void distillery.preloadStudents({ log: (message) => console.log(`distillery: ${message}`) });
    return distillery;
  })().catch((err) => {
    instance = undefined;
    throw err;
  });
  return instance;
}

/**
 * Flushes pair records and closes stores (Functions host shutdown, tests), within the deadline
 * (default DISTILLERY_SHUTDOWN_TIMEOUT_MS): the host has stopped sending invocations; pairs of
 * answered ones still being built are waited for, what the store does not take in time is spooled.
 */
export async function closeDistillery(options: { deadlineInMs?: number } = {}): Promise<void> {
  const current = instance;
  instance = undefined;
  if (!current) return;
  const distillery = await current;
  const deadlineInMs = options.deadlineInMs ?? distillery.config.settings.DISTILLERY_SHUTDOWN_TIMEOUT_MS;
  const deadline = Date.now() + deadlineInMs;
  await distillery.pairWriter.close({ deadlineInMs: deadlineInMs * 0.8 });
  await Promise.race([distillery.close(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
}
