import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { ensureCosmosContainers } from '../../src/adapters/cosmos/cosmos-containers.js';
import { createCosmosClient } from '../../src/adapters/cosmos/create-cosmos-client.js';

// A client of the Cosmos DB test server started by the global setup, and a fresh database per
// call, so test files never see each other's items.
export async function openTestCosmos(endpoint = inject('cosmosEndpoint'), key = inject('cosmosKey')) {
  const client = createCosmosClient({ endpoint, key }, { enableEndpointDiscovery: false });
  const containers = await ensureCosmosContainers(client, { databaseId: `test-${randomUUID().slice(0, 8)}` });
  return { client, ...containers };
}
