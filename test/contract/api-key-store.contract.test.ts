import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CosmosApiKeyStore, apiKeysContainerDefinition } from '../../src/adapters/cosmos/cosmos-api-key-store.js';
import { SqliteApiKeyStore } from '../../src/adapters/sqlite/sqlite-api-key-store.js';
import { apiKeyStoreContract } from './api-key-store-contract.js';
import { openTestCosmos } from './cosmos-test-client.js';

// The shared ApiKeyStore contract over the embedded store and over Cosmos DB
// (@vercel/cosmosdb-server, started by the global setup through test/fixtures/start-cosmos.ts).

apiKeyStoreContract('SQLite (file)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'distillery-keys-'));
  const store = new SqliteApiKeyStore({ path: path.join(dir, 'distillery.db') });
  return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

apiKeyStoreContract('Cosmos DB (test server)', async () => {
  const cosmos = await openTestCosmos();
  const { container } = await cosmos.database.containers.createIfNotExists(apiKeysContainerDefinition());
  return { store: new CosmosApiKeyStore(container), cleanup: async () => cosmos.client.dispose() };
});
