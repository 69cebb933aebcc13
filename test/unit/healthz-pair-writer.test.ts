import { describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { PairWriter } from '../../src/core/pairs/pair-writer.js';
import type { PairSpool } from '../../src/core/ports.js';
import { fakeChatApp } from '../fixtures/fake-chat-app.js';
import { FaultyPairStore } from '../fixtures/faulty-pair-store.js';
import { numberedPair } from '../fixtures/pair-records.js';

// /healthz shows the pair writer's trouble: records refused because the store and the outbox
// both fail and memory is full make it "degraded" (still 200: the process serves).

const fullDisk: PairSpool = {
  append: async () => {
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  },
  peek: async () => undefined,
  remove: async () => undefined,
  size: () => 0,
};

describe('/healthz with the pair writer', () => {
  it('says ok, then degraded with the refusal count once records are refused', async () => {
    const real = new SqlitePairStore({ path: ':memory:' });
    const store = new FaultyPairStore(real);
    store.down = true;
    const writer = new PairWriter({ store, spool: fullDisk, maxQueueLength: 3, maxBackoffInMs: 5 });
    const { app } = fakeChatApp({ health: () => ({ pairs: writer.health() }) });
    const before = await app.request('/healthz');
    expect(before.status).toBe(200);
    expect(await before.json()).toMatchObject({ status: 'ok', pairs: { status: 'ok', refused: 0 } });
    const accepted = Array.from({ length: 5 }, (_, i) => writer.enqueue(numberedPair(i)));
    expect(accepted).toEqual([true, true, true, false, false]);
    const after = await app.request('/healthz');
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ status: 'degraded', pairs: { status: 'degraded', refused: 2, queued: 3 } });
    await writer.close({ deadlineInMs: 50 });
    await real.close();
  });
});
