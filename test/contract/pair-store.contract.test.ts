import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CosmosPairStore } from '../../src/adapters/cosmos/cosmos-pair-store.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { openTestCosmos } from './cosmos-test-client.js';
import { makePair, pairStoreContract } from './pair-store-contract.js';

pairStoreContract(
  'SQLite (:memory:)',
  async () => new SqlitePairStore({ path: ':memory:', pageSize: 7 }),
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pairs-twins-'));
    const file = path.join(dir, 'pairs.db');
    return {
      writer: new SqlitePairStore({ path: file, pageSize: 7 }),
      openReader: async () => new SqlitePairStore({ path: file, pageSize: 7 }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
);

describe('SqlitePairStore on a file', () => {
  it('keeps records and counters across a reopen (WAL file)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pairs-'));
    try {
      const file = path.join(dir, 'pairs.db');
      const first = new SqlitePairStore({ path: file });
      const pairs = Array.from({ length: 20 }, () => makePair('reopen'));
      await first.upsertMany(pairs);
      await first.close();
      const second = new SqlitePairStore({ path: file });
      expect(await second.getCounter('reopen')).toBe(20);
      expect(await second.get('reopen', 'acme', pairs[7]!.id)).toEqual(pairs[7]);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

pairStoreContract(
  'Cosmos DB (test server)',
  async () => {
    const cosmos = await openTestCosmos();
    return new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, pageSize: 7, maxBatchSize: 10 });
  },
  async () => {
    const cosmos = await openTestCosmos();
    const open = () => new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, pageSize: 7, maxBatchSize: 10 });
    return { writer: open(), openReader: async () => open() };
  },
);
