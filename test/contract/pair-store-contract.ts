import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import type { PairStore } from '../../src/core/ports.js';

// The PairStore contract, run unchanged over every adapter (SQLite, Cosmos DB). Each test uses its
// own task name, so adapters backed by a shared server need no cleanup between tests. `create`
// should return a store whose list page size is small (a handful of records) so paging is exercised.

export function makePair(task: string, overrides: Partial<PairRecord> = {}): PairRecord {
  return {
    id: randomUUID(),
    task,
    tenant: 'acme',
    createdAt: '2026-03-01T10:00:00.000Z',
    request: { messages: [{ role: 'user', content: 'Where is my parcel?' }], params: { temperature: 0 } },
    servedArm: 'teacher',
    reason: 'pinned to teacher',
    policy: 'pinned',
    teacher: { model: 'gpt-4o', text: 'track_order', latencyInMs: 420, role: 'served', usage: { promptTokens: 12, completionTokens: 2 } },
    student: { model: `${task}@1`, text: 'track_order', latencyInMs: 3, role: 'shadow', confidence: 0.93 },
    labels: { teacher: 'track_order', student: 'track_order', usableForTraining: true },
    source: { kind: 'traffic' },
    ...overrides,
  } as PairRecord;
}

const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 10, minute)).toISOString();

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Two instances over one backend: a write through one must be visible to a fresh other. */
export interface StoreTwins {
  writer: PairStore;
  openReader: () => Promise<PairStore>;
  cleanup?: () => Promise<void>;
}

export function pairStoreContract(name: string, create: () => Promise<PairStore>, twins: () => Promise<StoreTwins>): void {
  describe(`PairStore contract: ${name}`, () => {
    const task = () => `task-${randomUUID().slice(0, 8)}`;

    // One meaning of "accepted by the store" for every adapter: when upsertMany resolves the
    // records are durably written (the PairWriter deletes its outbox copy on that promise), so a
    // fresh instance — another process, or this one after a crash — reads them without any flush.
    it('upsertMany resolves only once the records are durably written: a fresh instance reads them', async () => {
      const { writer, openReader, cleanup } = await twins();
      let reader: PairStore | undefined;
      try {
        const t = task();
        const pairs = Array.from({ length: 25 }, (_, i) => makePair(t, { id: `d-${String(i).padStart(2, '0')}`, createdAt: at(i) }));
        await writer.upsertMany(pairs.slice(0, 20));
        await writer.upsert(pairs[20]!);
        await writer.upsertMany(pairs.slice(21));
        // No flush, no close of the writer: what it resolved must already be in the backend.
        reader = await openReader();
        const listed = await collect(reader.list({ task: t }));
        expect(listed.map((p) => p.id)).toEqual(pairs.map((p) => p.id));
        expect(await reader.get(t, 'acme', 'd-24')).toEqual(pairs[24]);
        expect(await reader.getCounter(t)).toBe(25);
      } finally {
        await reader?.close();
        await writer.close();
        await cleanup?.();
      }
    });

    it('gets back exactly what was upserted, and undefined for an absent id', async () => {
      const store = await create();
      try {
        const t = task();
        const pair = makePair(t, { redacted: ['email'], source: { kind: 'dataset', datasetId: 'clinc150', split: 'train', exampleId: 'ex-1', reference: 'track_order' } });
        await store.upsert(pair);
        expect(await store.get(t, 'acme', pair.id)).toEqual(pair);
        expect(await store.get(t, 'acme', 'no-such-id')).toBeUndefined();
        expect(await store.get(t, 'other-tenant', pair.id)).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('replaces by id: a retried write never duplicates and never bumps the counter twice', async () => {
      const store = await create();
      try {
        const t = task();
        const pair = makePair(t);
        await store.upsert(pair);
        await store.upsert(pair);
        const changed = { ...pair, reason: 'replaced', labels: { teacher: 'a', student: 'b', usableForTraining: false } };
        await store.upsertMany([changed]);
        await store.flush();
        const all = await collect(store.list({ task: t }));
        expect(all).toEqual([changed]);
        expect(await store.getCounter(t)).toBe(1);
      } finally {
        await store.close();
      }
    });

    it('counts new pairs per task, independently of other tasks', async () => {
      const store = await create();
      try {
        const a = task();
        const b = task();
        expect(await store.getCounter(a)).toBe(0);
        const batch = Array.from({ length: 12 }, (_, i) => makePair(i % 3 === 0 ? b : a, { createdAt: at(i) }));
        await store.upsertMany(batch);
        await store.upsertMany(batch.slice(0, 5)); // replays: no new pairs
        await store.upsert(makePair(a));
        await store.flush();
        expect(await store.getCounter(a)).toBe(9);
        expect(await store.getCounter(b)).toBe(4);
      } finally {
        await store.close();
      }
    });

    it('lists in createdAt then id order across tenants, paging through many records', async () => {
      const store = await create();
      try {
        const t = task();
        const pairs: PairRecord[] = [];
        for (let i = 0; i < 45; i++) {
          // Several records share a createdAt, so the id tie-break is exercised.
          pairs.push(makePair(t, { id: `p-${String(44 - i).padStart(3, '0')}`, tenant: i % 2 ? 'acme' : 'globex', createdAt: at(Math.floor(i / 4)) }));
        }
        await store.upsertMany([...pairs].reverse());
        await store.flush();
        const listed = await collect(store.list({ task: t }));
        const expected = [...pairs].sort((x, y) => x.createdAt.localeCompare(y.createdAt) || x.id.localeCompare(y.id));
        expect(listed.map((p) => p.id)).toEqual(expected.map((p) => p.id));
        const acme = await collect(store.list({ task: t, tenant: 'acme' }));
        expect(acme.map((p) => p.id)).toEqual(expected.filter((p) => p.tenant === 'acme').map((p) => p.id));
        expect(await collect(store.list({ task: `${t}-other` }))).toEqual([]);
      } finally {
        await store.close();
      }
    });

    it('honours since (inclusive), until (exclusive), sourceKind, datasetId and limit', async () => {
      const store = await create();
      try {
        const t = task();
        const pairs = Array.from({ length: 10 }, (_, i) =>
          makePair(t, {
            id: `q-${i}`,
            createdAt: at(i),
            source: i % 2 ? { kind: 'dataset', datasetId: i % 4 === 1 ? 'ds-a' : 'ds-b' } : { kind: 'traffic' },
          }),
        );
        await store.upsertMany(pairs);
        await store.flush();
        const ids = async (q: Omit<Parameters<PairStore['list']>[0], 'task'>) => (await collect(store.list({ task: t, ...q }))).map((p) => p.id);
        expect(await ids({ since: at(3), until: at(6) })).toEqual(['q-3', 'q-4', 'q-5']);
        expect(await ids({ sourceKind: 'traffic' })).toEqual(['q-0', 'q-2', 'q-4', 'q-6', 'q-8']);
        expect(await ids({ sourceKind: 'dataset', datasetId: 'ds-a' })).toEqual(['q-1', 'q-5', 'q-9']);
        expect(await ids({ datasetId: 'ds-b', since: at(4) })).toEqual(['q-7']);
        expect(await ids({ limit: 4 })).toEqual(['q-0', 'q-1', 'q-2', 'q-3']);
        expect(await ids({ limit: 0 })).toEqual([]);
        expect(await ids({ since: at(8), limit: 10 })).toEqual(['q-8', 'q-9']);
      } finally {
        await store.close();
      }
    });

    it('orders by instant, not by how the timestamp was written', async () => {
      const store = await create();
      try {
        const t = task();
        const late = makePair(t, { id: 'late', createdAt: '2026-01-01T00:00:00Z' });
        const early = makePair(t, { id: 'early', createdAt: '2026-01-01T01:00:00+02:00' }); // 23:00Z the day before
        await store.upsertMany([late, early]);
        await store.flush();
        const listed = await collect(store.list({ task: t }));
        expect(listed.map((p) => p.id)).toEqual(['early', 'late']);
        expect(listed[0]!.createdAt).toBe('2026-01-01T01:00:00+02:00');
        expect((await collect(store.list({ task: t, until: '2026-01-01T00:00:00.000Z' }))).map((p) => p.id)).toEqual(['early']);
      } finally {
        await store.close();
      }
    });

    it('refuses bad records with a typed error and writes nothing of the batch', async () => {
      const store = await create();
      try {
        const t = task();
        const good = makePair(t);
        const bad = [
          makePair(t, { createdAt: 'yesterday' }),
          makePair(t, { id: '' }),
          makePair(t, { id: 'a/b' }),
          makePair(t, { tenant: undefined as unknown as string }),
          makePair(t, { source: { kind: 'scraped' } as unknown as PairRecord['source'] }),
          null as unknown as PairRecord,
        ];
        for (const b of bad) {
          await expect(store.upsertMany([good, b])).rejects.toBeInstanceOf(DistilleryError);
        }
        await expect(store.upsert(bad[0]!)).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
        await store.flush();
        expect(await collect(store.list({ task: t }))).toEqual([]);
        expect(await store.getCounter(t)).toBe(0);
        await expect(collect(store.list({ task: t, since: 'not a date' }))).rejects.toBeInstanceOf(DistilleryError);
        await expect(collect(store.list({ task: '' }))).rejects.toBeInstanceOf(DistilleryError);
        await expect(store.get(t, 'acme', '')).rejects.toBeInstanceOf(DistilleryError);
      } finally {
        await store.close();
      }
    });

    it('honours an aborted signal and refuses work after close', async () => {
      const store = await create();
      const t = task();
      const controller = new AbortController();
      controller.abort();
      await expect(store.upsert(makePair(t), { abortSignal: controller.signal })).rejects.toThrow();
      await expect(store.get(t, 'acme', 'x', { abortSignal: controller.signal })).rejects.toThrow();
      await store.upsert(makePair(t));
      await store.flush();
      await store.close();
      await store.close(); // idempotent
      await expect(store.upsert(makePair(t))).rejects.toBeInstanceOf(DistilleryError);
    });
  });
}
