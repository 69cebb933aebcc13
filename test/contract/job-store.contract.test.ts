import { CosmosJobStore } from '../../src/adapters/cosmos/cosmos-job-store.js';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import { openTestCosmos } from './cosmos-test-client.js';
import { jobStoreContract } from './job-store-contract.js';

jobStoreContract('SQLite (:memory:)', async () => new SqliteJobStore({ path: ':memory:', pageSize: 4 }));

jobStoreContract('Cosmos DB (test server)', async () => {
  const cosmos = await openTestCosmos();
  return new CosmosJobStore({ jobs: cosmos.jobs, pageSize: 4 });
});
