import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// Issue 14 row 12: the official openai client aborting a streamed completion (AbortController,
// after the first chunk) must end its `for await` every time, for a teacher-served and a
// student-served stream. The upstreams go silent after a few chunks with their sockets open, so
// nothing but the abort can end the exchange: Distillery must also drop its upstream call at once
// (its idle time-out here is a minute), and give back the request's admission slot.

const RUNS = 10;
const LOOP_BOUND_MS = 10_000;

let h: Harness;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  const stallAfter3 = () => ({ kind: 'stall-mid-stream' as const, afterChunks: 3 });
  h = await startHarness({
    teacher: { answer: () => ({ text: 'teacher words '.repeat(50) }), fault: stallAfter3 },
    student: { answer: () => ({ text: 'student words '.repeat(50) }), fault: stallAfter3 },
    teacherSettings: { idleTimeoutInMs: 60_000 },
    models: ({ student }) => ({
      student: { provider: 'openai', baseURL: student.baseURL, model: 'phi-4-mini', auth: 'none', maxRetries: 0, idleTimeoutInMs: 60_000 },
    }),
    tasks: [
      { name: 'teacher-served', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false } },
      { name: 'student-served', teacher: 'teacher', student: { source: 'model', model: 'student' }, routing: { policy: { type: 'pinned', arm: 'student' }, fallback: false } },
    ],
    // Two slots: the server learns of an abort only when the client's socket closes, which undici
    // may do just after its next request leaves; a slot leaked for good would still fail the runs.
    env: { DISTILLERY_MAX_IN_FLIGHT: '2' },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.chatA, maxRetries: 0 });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
});

/** One streamed completion aborted after its first chunk; resolves with how the loop ended. */
async function abortAfterFirstChunk(model: string): Promise<string> {
  const ac = new AbortController();
  const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: ac.signal });
  let chunks = 0;
  try {
    for await (const _chunk of stream) if (chunks++ === 0) ac.abort();
    return 'ended';
  } catch (err) {
    return (err as Error).name;
  }
}

describe('aborting a streamed completion with the official openai client', () => {
  for (const [model, upstream] of [['teacher-served', 'teacher'], ['student-served', 'student']] as const) {
    it(`${model}: ${RUNS} aborted streams, 0 hangs, the upstream call dropped each time`, async () => {
      let hangs = 0;
      for (let i = 0; i < RUNS; i++) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const bound = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('hang'), LOOP_BOUND_MS)));
        const outcome = await Promise.race([abortAfterFirstChunk(model), bound]);
        clearTimeout(timer);
        if (outcome === 'hang') hangs++;
        else expect(['ended', 'AbortError', 'APIUserAbortError']).toContain(outcome);
      }
      expect(hangs).toBe(0);
      // Distillery let go of its upstream calls long before their one-minute idle time-out.
      await expect.poll(() => h[upstream].stalledOpen(), { timeout: LOOP_BOUND_MS }).toBe(0);
      expect(h[upstream].requests.length).toBeGreaterThanOrEqual(RUNS);
    }, 4 * RUNS * LOOP_BOUND_MS);
  }
});
