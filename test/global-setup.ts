import type { TestProject } from 'vitest/node';
import { startAzurite } from './fixtures/start-azurite.js';

// Starts the real local servers once for the whole run, each on a free port, and hands their
// addresses to the tests through `inject(...)`. Each server is stopped when the run ends.

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}

export default async function setup(project: TestProject) {
  const stops: (() => Promise<void>)[] = [];

  const azurite = await startAzurite();
  stops.push(azurite.stop);
  project.provide('azuriteConnectionString', azurite.connectionString);

  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
