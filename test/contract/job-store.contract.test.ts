import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import { jobStoreContract } from './job-store-contract.js';

jobStoreContract('SQLite (:memory:)', async () => new SqliteJobStore({ path: ':memory:', pageSize: 4 }));
