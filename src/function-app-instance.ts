import { createDistillery, type Distillery } from './compose/index.js';
import { loadConfig } from './config.js';
import { startTelemetry } from './telemetry.js';

// One Distillery per Functions worker process, built on first use from the app settings and kept
// for the life of the instance (cold start pays for it once; warm invocations reuse it).

let instance: Promise<Distillery> | undefined;

export function getDistillery(): Promise<Distillery> {
  instance ??= (async () => {
    const config = loadConfig(process.env);
    if (config.settings.APPLICATIONINSIGHTS_CONNECTION_STRING) await startTelemetry(config.env);
    return createDistillery(config);
  })().catch((err) => {
    instance = undefined;
    throw err;
  });
  return instance;
}

/** Flushes pair records and closes stores (tests, graceful worker shutdown). */
export async function closeDistillery(): Promise<void> {
  const current = instance;
  instance = undefined;
  if (current) await (await current).close();
}
