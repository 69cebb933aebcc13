import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { FaultyPairStore } from '../fixtures/faulty-pair-store.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

// 20,000 chat requests at 50 concurrent connections over loopback, with 10% teacher faults
// (fallback to the student) and the pair store down for 10 s in the middle: every request gets
// an answer, and after recovery the stored pairs equal the requests with `store` not false.
// LOAD_REQUESTS / LOAD_OUTAGE_MS scale it; the figures are printed for RELIABILITY.md.

const REQUESTS = Number(process.env.LOAD_REQUESTS ?? 20_000);
const CONCURRENCY = 50;
const OUTAGE_MS = Number(process.env.LOAD_OUTAGE_MS ?? 10_000);

let h: Harness;
let server: RunningServer;
let store: FaultyPairStore;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'distillery-load-'));
  store = new FaultyPairStore(new SqlitePairStore({ path: path.join(dir, 'pairs.db') }));
  h = await startHarness({
    // Deterministic 10% of teacher calls fail with 500.
    teacher: { answer: () => ({ text: 'teacher' }), fault: (_req, i) => (i % 10 === 7 ? { kind: 'status', status: 500 } : undefined) },
    student: { answer: () => ({ text: 'student' }) },
    teacherSettings: { maxRetries: 0, circuitBreaker: { failureThreshold: 50 } },
    tasks: [{ name: 'load', teacher: 'teacher', student: { source: 'model', model: 'student' }, routing: { policy: { type: 'pinned', arm: 'teacher' } } }],
    compose: { pairStore: store },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server?.close();
  await h?.close();
});

describe('load with faults', () => {
  it(`answers all ${REQUESTS} requests and stores every pair after a ${OUTAGE_MS / 1000} s store outage`, async () => {
    const statuses = new Map<number, number>();
    const latencies: number[] = [];
    const outageLatencies: number[] = [];
    let next = 0;
    let storeable = 0;
    let outageStartedAt = 0;
    let outageEndedAt = 0;
    const url = `${server.url}/v1/chat/completions`;
    const started = performance.now();

    const worker = async () => {
      while (next < REQUESTS) {
        const i = next++;
        if (i === Math.floor(REQUESTS / 4)) {
          store.down = true;
          outageStartedAt = performance.now();
          setTimeout(() => {
            store.down = false;
            outageEndedAt = performance.now();
          }, OUTAGE_MS);
        }
        const storeFlag = i % 10 !== 3; // 10% ask not to be stored
        if (storeFlag) storeable++;
        const t0 = performance.now();
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'load', messages: [{ role: 'user', content: `request ${i}` }], user: `u${i % 97}`, ...(storeFlag ? {} : { store: false }) }),
        });
        await res.arrayBuffer();
        const ms = performance.now() - t0;
        latencies.push(ms);
        if (store.down) outageLatencies.push(ms);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = performance.now() - started;
    // The outage may outlast the traffic on a fast machine: wait for it to end, then drain.
    while (store.down) await new Promise((r) => setTimeout(r, 50));
    await h.distillery.pairWriter.flush();

    let stored = 0;
    for await (const _ of store.list({ task: 'load' })) stored++;
    const sorted = [...latencies].sort((a, b) => a - b);
    const p = (q: number, xs: number[]) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]! : NaN);
    const outageSorted = [...outageLatencies].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        requests: REQUESTS,
        concurrency: CONCURRENCY,
        teacherFaultsInjected: h.teacher.requests.length ? Math.floor(h.teacher.requests.length / 10) : 0,
        statuses: Object.fromEntries(statuses),
        storeable,
        stored,
        spooled: h.distillery.pairWriter.spooled,
        storeWritesRefused: store.failedWrites,
        outageInMs: Math.round((outageEndedAt || performance.now()) - outageStartedAt),
        requestsDuringOutage: outageLatencies.length,
        elapsedInMs: Math.round(elapsed),
        rps: Math.round((REQUESTS / elapsed) * 1000),
        p50InMs: +p(0.5, sorted).toFixed(2),
        p99InMs: +p(0.99, sorted).toFixed(2),
        p99DuringOutageInMs: +p(0.99, outageSorted).toFixed(2),
      }),
    );
    expect(statuses.get(200)).toBe(REQUESTS);
    expect(store.failedWrites).toBeGreaterThan(0);
    expect(stored).toBe(storeable);
  }, 300_000);
});
