import type { TestProject } from 'vitest/node';
import { startAzurite } from './fixtures/start-azurite.js';
import { startCosmos } from './fixtures/start-cosmos.js';
import { startServiceBusBroker } from './fixtures/service-bus-broker/service-bus-broker.js';

// Starts the real local servers once for the whole run, each on a free port, and hands their
// addresses to the tests through `inject(...)`. Each server is stopped when the run ends.

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
    cosmosEndpoint: string;
    cosmosKey: string;
    serviceBusConnectionString: string;
  }
}

export default async function setup(project: TestProject) {
  const stops: (() => Promise<void>)[] = [];

  const azurite = await startAzurite();
  stops.push(azurite.stop);
  project.provide('azuriteConnectionString', azurite.connectionString);

  const cosmos = await startCosmos();
  stops.push(cosmos.stop);
  project.provide('cosmosEndpoint', cosmos.endpoint);
  project.provide('cosmosKey', cosmos.key);

  // Queues are created on first use (lock 30 s, max 10 deliveries, duplicate detection 10 min).
  const serviceBus = await startServiceBusBroker();
  stops.push(serviceBus.stop);
  project.provide('serviceBusConnectionString', serviceBus.connectionString);

  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
