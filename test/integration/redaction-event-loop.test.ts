import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// Issue #14, row 1: one chat request froze the whole server while its pair was redacted on the
// event loop (a 140 KB prompt blocked /healthz 10.5 s, a 3 MB one > 10 min). Here a prompt just
// under the default 4 MiB body limit, made of the texts that made the old patterns backtrack,
// goes through the real app on a socket while /healthz is polled on another connection; the
// event-loop delay is measured with perf_hooks.monitorEventLoopDelay until its pair is stored.

const MAX_BODY = 4 * 1024 * 1024; // DISTILLERY_MAX_BODY_BYTES' default
let h: Harness;
let server: RunningServer;

beforeAll(async () => {
  h = await startHarness({
    // A short answer: the measured work is the prompt's, not the fake teacher's echo.
    teacher: { answer: () => ({ text: 'noted, write to jane.doe@example.com' }) },
    tasks: [{ name: 'big', teacher: 'teacher', distill: { threshold: null } }],
    env: { DISTILLERY_MAX_BODY_BYTES: String(MAX_BODY) },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
});

/** ~4 MiB of e-mail-like runs without '@', glued 20-character words, digit runs, and real data. */
function hostilePrompt(chars: number): string {
  const parts = ['jane.doe.smith-'.repeat(20_000), 'abcdefghijklmnopqrst'.repeat(15_000), '1 2-3 '.repeat(40_000), ' mail a@b.io call +44 20 7946 0958 '];
  let text = '';
  while (text.length < chars) text += parts.join(' ');
  return text.slice(0, chars);
}

async function pollHealth(stop: { done: boolean }): Promise<number[]> {
  const latencies: number[] = [];
  while (!stop.done) {
    const started = performance.now();
    const res = await fetch(`${server.url}/healthz`);
    await res.text();
    latencies.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 5));
  }
  return latencies;
}

describe('a 4 MiB prompt never freezes the server', () => {
  it('keeps /healthz answering and the event-loop delay small while the prompt is served and its pair redacted', async () => {
    const prompt = hostilePrompt(MAX_BODY - 1024);
    const body = JSON.stringify({ model: 'big', messages: [{ role: 'user', content: prompt }] });
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY);

    const delay = monitorEventLoopDelay({ resolution: 5 });
    const stop = { done: false };
    const health = pollHealth(stop);
    delay.enable();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    await res.json();
    const [pair] = await allPairs(h.distillery, 'big');
    delay.disable();
    stop.done = true;
    const latencies = await health;

    const maxDelayMs = delay.max / 1e6;
    const maxHealthMs = Math.max(...latencies);
    console.info(`4 MiB prompt: max event-loop delay ${maxDelayMs.toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms; /healthz max ${maxHealthMs.toFixed(0)} ms over ${latencies.length} polls`);
    // Before: the loop was blocked for minutes. The bound covers JSON parsing of 4 MiB (ours and
    // the in-process fake teacher's) on a loaded 2-core machine.
    expect(maxDelayMs).toBeLessThan(1_000);
    expect(maxHealthMs).toBeLessThan(2_000);
    expect(latencies.length).toBeGreaterThan(3);

    // The stored prompt is redacted, capped and marked; nothing beyond the cap is stored raw.
    const stored = (pair!.request.messages[0] as { content: string }).content;
    expect(stored.length).toBeLessThan(300 * 1024);
    expect(stored).toMatch(/\[TRUNCATED: \d+ characters not stored\]$/);
    expect(pair!.redacted).toContain('truncated');
    expect(pair!.teacher?.text).toBe('noted, write to [EMAIL]');
  }, 120_000);
});
