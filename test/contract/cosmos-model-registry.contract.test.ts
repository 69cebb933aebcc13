import { CosmosModelRegistry } from '../../src/adapters/cosmos/cosmos-model-registry.js';
import { openTestCosmos } from './cosmos-test-client.js';
import { modelRegistryContract } from './model-registry-contract.js';

// The shared ModelRegistry contract (written with the SQLite registry) over Cosmos DB.
modelRegistryContract('Cosmos DB (test server)', async () => {
  const cosmos = await openTestCosmos();
  return { registry: new CosmosModelRegistry({ models: cosmos.models }) };
});
