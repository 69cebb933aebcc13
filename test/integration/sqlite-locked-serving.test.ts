import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { holdSqliteWriteLock } from '../fixtures/sqlite-lock-holder.js';

// Issue #14, row 5: another process holding SQLite's write lock froze the whole server (56
// responses in 15 s instead of ~4,000, chat p99 10 s, /healthz 10 s), because better-sqlite3 is
// synchronous and its 5 s busy time-out ran on the event loop. Here a child process takes the
// write lock of the store's file (BEGIN IMMEDIATE) and holds it while the real app serves chat
// on a socket against a fake teacher and /healthz is polled: responses must go on, and once the
// lock is released every pair of an answered response must reach the store.

const HOLD_MS = 6_000;
const CLIENTS = 4;
let h: Harness;
let server: RunningServer;

beforeAll(async () => {
  h = await startHarness({
    teacher: { answer: () => ({ text: 'ok' }) },
    tasks: [{ name: 'locked', teacher: 'teacher', distill: { threshold: null } }],
    env: { DISTILLERY_WORKER: 'false' },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
});

interface Timed {
  startedAt: number;
  ms: number;
  status: number;
  prompt?: string;
}

async function chatLoop(client: number, until: () => boolean, out: Timed[]) {
  for (let i = 0; !until(); i++) {
    const prompt = `client ${client} request ${i}`;
    const startedAt = performance.now();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'locked', messages: [{ role: 'user', content: prompt }] }),
    });
    await res.text();
    out.push({ startedAt, ms: performance.now() - startedAt, status: res.status, prompt });
  }
}

async function healthLoop(until: () => boolean, out: Timed[]) {
  while (!until()) {
    const startedAt = performance.now();
    const res = await fetch(`${server.url}/healthz`);
    await res.text();
    out.push({ startedAt, ms: performance.now() - startedAt, status: res.status });
    await new Promise((r) => setTimeout(r, 20));
  }
}

const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

describe('a SQLite database locked by another process', () => {
  it('never stops the server answering, and loses no pair of an answered response', async () => {
    // Warm up: the schema exists and the first pairs are in (the lock holder writes to it).
    const warm: Timed[] = [];
    let warmed = 0;
    await chatLoop(0, () => warmed++ >= 3, warm);
    expect((await allPairs(h.distillery, 'locked')).length).toBe(3);

    const lock = await holdSqliteWriteLock(path.join(h.dataDir, 'distillery.db'));
    // The clients share the server's process, so a blocked event loop also delays their clocks:
    // the loop's own delay is the direct measure of "blocked".
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const lockedAt = performance.now();
    const done = () => performance.now() - lockedAt > HOLD_MS;
    const chats: Timed[] = [];
    const health: Timed[] = [];
    try {
      await Promise.all([...Array.from({ length: CLIENTS }, (_, c) => chatLoop(c + 1, done, chats)), healthLoop(done, health)]);
    } finally {
      loopDelay.disable();
      await lock.release();
    }
    const loopMaxMs = loopDelay.max / 1e6;

    const ok = chats.filter((c) => c.status === 200);
    const chatP99 = p(chats.map((c) => c.ms), 0.99);
    const healthMax = Math.max(...health.map((x) => x.ms));
    console.info(
      `locked SQLite for ${HOLD_MS} ms: ${ok.length}/${chats.length} chat responses 200, chat p50 ${p(chats.map((c) => c.ms), 0.5).toFixed(0)} ms p99 ${chatP99.toFixed(0)} ms max ${Math.max(...chats.map((c) => c.ms)).toFixed(0)} ms; /healthz ${health.length} polls max ${healthMax.toFixed(0)} ms; event-loop delay max ${loopMaxMs.toFixed(0)} ms; writer ${JSON.stringify(h.distillery.pairWriter.health())}`,
    );
    // Before: the event loop sat in better-sqlite3's 5 s busy wait (loop blocked 5.1 s, chat p99
    // 5.4 s). The bounds stay far below that yet hold on a 2-core machine at load average 15.
    expect(ok.length).toBe(chats.length);
    expect(ok.length).toBeGreaterThan(40);
    expect(chatP99).toBeLessThan(1_500);
    expect(healthMax).toBeLessThan(1_500);
    expect(loopMaxMs).toBeLessThan(1_000);

    // Once the lock is gone every answered response's pair is in the store (from memory or the outbox).
    const stored = new Set((await allPairs(h.distillery, 'locked')).map((pair) => pair.request.messages.at(-1)?.content));
    const missing = ok.filter((c) => !stored.has(c.prompt));
    expect(missing.map((c) => c.prompt)).toEqual([]);
    expect(h.distillery.pairWriter.refused).toBe(0);
  }, 120_000);
});
