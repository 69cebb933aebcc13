import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import { modelRegistryContract } from './model-registry-contract.js';

modelRegistryContract('SQLite (:memory:)', async () => {
  const registry = new SqliteModelRegistry({ path: ':memory:' });
  return { registry, cleanup: () => registry.close() };
});
