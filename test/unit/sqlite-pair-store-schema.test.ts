import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { makePair } from '../contract/pair-store-contract.js';

// Issue 19: new pair databases use a rowid table (records appended, only the key index takes the
// random ids); a database made with the earlier WITHOUT ROWID table must keep working unchanged.

const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pair-schema-'));
  dirs.push(dir);
  return path.join(dir, 'pairs.db');
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const tableSql = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'pairs'`).get() as { sql: string }).sql;
  } finally {
    db.close();
  }
};

async function exercise(store: SqlitePairStore) {
  const a = makePair('intent', { id: 'a', createdAt: '2026-03-01T10:00:00.000Z' });
  const b = makePair('intent', { id: 'b', createdAt: '2026-03-01T10:01:00.000Z' });
  await store.upsertMany([a, b]);
  await store.upsert({ ...a, reason: 'replaced' });
  expect((await store.get('intent', 'acme', 'a'))?.reason).toBe('replaced');
  const listed: string[] = [];
  for await (const p of store.list({ task: 'intent' })) listed.push(p.id);
  expect(listed).toEqual(['a', 'b']);
  expect(await store.getCounter('intent')).toBe(2);
}

describe('SqlitePairStore schema', () => {
  it('creates a rowid table for a new database', async () => {
    const file = tempDb();
    const store = new SqlitePairStore({ path: file });
    await exercise(store);
    await store.close();
    expect(tableSql(file)).not.toMatch(/WITHOUT ROWID/i);
  });

  it('keeps serving a database made with the earlier WITHOUT ROWID table', async () => {
    const file = tempDb();
    const old = new Database(file);
    old.exec(`CREATE TABLE pairs (task TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL, created_at TEXT NOT NULL,
      source_kind TEXT NOT NULL, dataset_id TEXT, body TEXT NOT NULL, PRIMARY KEY (task, tenant, id)) WITHOUT ROWID;`);
    old.close();
    const store = new SqlitePairStore({ path: file });
    await exercise(store);
    await store.close();
    expect(tableSql(file)).toMatch(/WITHOUT ROWID/i);
  });
});
