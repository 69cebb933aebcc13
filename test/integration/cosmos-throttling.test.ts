import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosmosPairStore } from '../../src/adapters/cosmos/cosmos-pair-store.js';
import { isDocumentWrite, startCosmos, type RunningCosmos } from '../fixtures/start-cosmos.js';
import { openTestCosmos } from '../contract/cosmos-test-client.js';
import { makePair } from '../contract/pair-store-contract.js';

// Throttling injected at the test server's HTTP layer: more consecutive 429s than the SDK retries
// on its own, so the store's retry (after retryAfterInMs) is what saves the writes.

describe('CosmosPairStore under 429 throttling', () => {
  let cosmos: RunningCosmos;
  beforeAll(async () => {
    cosmos = await startCosmos();
  });
  afterAll(async () => {
    await cosmos.stop();
  });

  it('retries throttled writes and loses no pair', async () => {
    const { pairs, pairCounters } = await openTestCosmos(cosmos.endpoint, cosmos.key);
    const store = new CosmosPairStore({ pairs, counters: pairCounters, maxBatchSize: 50, writeConcurrency: 8 });
    const batch = Array.from({ length: 300 }, (_, i) => makePair('throttled', { tenant: i % 3 ? 'acme' : 'globex', createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
    cosmos.injectThrottling(60, { retryAfterInMs: 15, match: isDocumentWrite });
    const started = Date.now();
    await store.upsertMany(batch.slice(0, 150));
    await store.upsertMany(batch.slice(150));
    await store.flush();
    expect(cosmos.throttledCount).toBe(60);
    // Every 429 was waited out: 60 throttles over 8 parallel writers take at least a few waits.
    expect(Date.now() - started).toBeGreaterThanOrEqual(15 * Math.floor(60 / 8));
    const listed: string[] = [];
    for await (const p of store.list({ task: 'throttled' })) listed.push(p.id);
    expect(listed.sort()).toEqual(batch.map((p) => p.id).sort());
    expect(await store.getCounter('throttled')).toBe(300);
    await store.close();
  });

  it('refuses the upsert and keeps unwritten pairs queued when throttling outlasts the retries, and writes them on the next flush', async () => {
    const { pairs, pairCounters } = await openTestCosmos(cosmos.endpoint, cosmos.key);
    const store = new CosmosPairStore({ pairs, counters: pairCounters, maxAttempts: 2, writeConcurrency: 1 });
    const batch = Array.from({ length: 5 }, () => makePair('outlasted'));
    cosmos.injectThrottling(1_000, { retryAfterInMs: 1, match: isDocumentWrite });
    // Not written means not accepted: the caller (the PairWriter) keeps its outbox copy.
    await expect(store.upsertMany(batch)).rejects.toMatchObject({ code: 'store_throttled', retryable: true });
    await expect(store.flush()).rejects.toMatchObject({ code: 'store_throttled', retryable: true });
    expect(store.pendingCount).toBeGreaterThan(0);
    cosmos.injectThrottling(0);
    await store.flush();
    expect(store.pendingCount).toBe(0);
    const listed: string[] = [];
    for await (const p of store.list({ task: 'outlasted' })) listed.push(p.id);
    expect(listed.sort()).toEqual(batch.map((p) => p.id).sort());
    expect(await store.getCounter('outlasted')).toBe(5);
    await store.close();
  });

  it('bounds the in-memory batch: upsert waits for the writer instead of buffering without limit', async () => {
    const { pairs, pairCounters } = await openTestCosmos(cosmos.endpoint, cosmos.key);
    const store = new CosmosPairStore({ pairs, counters: pairCounters, maxBatchSize: 10, maxBufferedPairs: 20, writeConcurrency: 2 });
    const batch = Array.from({ length: 200 }, () => makePair('bounded'));
    cosmos.injectThrottling(30, { retryAfterInMs: 5, match: isDocumentWrite });
    let maxPending = 0;
    const sampler = setInterval(() => (maxPending = Math.max(maxPending, store.pendingCount)), 1);
    await store.upsertMany(batch);
    clearInterval(sampler);
    maxPending = Math.max(maxPending, store.pendingCount);
    expect(maxPending).toBeLessThanOrEqual(20);
    await store.close(); // close flushes what is still queued
    const reopened = new CosmosPairStore({ pairs, counters: pairCounters });
    expect(await reopened.getCounter('bounded')).toBe(200);
    await reopened.close();
  });

  it('keeps retrying after the SDK gives up on a request (more 429s in a row than its 9 retries)', async () => {
    const { pairs, pairCounters } = await openTestCosmos(cosmos.endpoint, cosmos.key);
    const store = new CosmosPairStore({ pairs, counters: pairCounters, writeConcurrency: 1 });
    const batch = Array.from({ length: 5 }, () => makePair('persistent'));
    const before = cosmos.throttledCount;
    // One request at a time: the SDK absorbs at most 10 attempts per request, so 25 consecutive
    // 429s can only be survived by the store's own retry after retryAfterInMs.
    cosmos.injectThrottling(25, { retryAfterInMs: 2, match: isDocumentWrite });
    await store.upsertMany(batch);
    await store.flush();
    expect(cosmos.throttledCount - before).toBe(25);
    expect(await store.getCounter('persistent')).toBe(5);
    await store.close();
  });
});
