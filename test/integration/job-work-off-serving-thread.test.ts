import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { runServe, type RunningPlatform } from '../../src/serve-command.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';
import { teacherLabelledPair } from '../fixtures/pair-records.js';

// #14 row 6: a re-distillation job over tens of thousands of pairs held the serving thread for
// seconds while it built its dataset (7.7 s at 60k pairs, the job worker in-process). The
// standalone server now runs the job worker on a thread of its own: while a job reads 40,000
// pairs, builds its dataset, trains and evaluates, the serving thread's event loop stays free.

const PAIRS = 40_000;
const LABELS = Array.from({ length: 20 }, (_, i) => `intent_${i}`);
const ADMIN = 'dk-thread-test-admin';
let teacher: FakeOpenAIServer;
let platform: RunningPlatform;
let dataDir: string;

beforeAll(async () => {
  teacher = await startFakeOpenAIServer({ model: 'gpt-4o' });
  dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-thread-'));
  // Seeded before the server starts, through a store of its own on the same database file.
  const seed = new SqlitePairStore({ path: path.join(dataDir, 'distillery.db') });
  for (let start = 0; start < PAIRS; start += 2_000) {
    const batch = Array.from({ length: 2_000 }, (_, k) => {
      const i = start + k;
      const label = LABELS[i % LABELS.length]!;
      return teacherLabelledPair(i, { task: 'intents', text: `${label.replace('_', ' ')} request number ${i} about account ${i % 97}`, label });
    });
    await seed.upsertMany(batch);
  }
  await seed.close();
  const document = {
    models: { teacher: { provider: 'openai', baseURL: teacher.baseURL, model: 'gpt-4o', auth: 'none', maxRetries: 0 } },
    tasks: [
      {
        name: 'intents',
        teacher: 'teacher',
        student: { source: 'registry' },
        classification: { labels: LABELS, student: { epochs: 2, seed: 1 } },
        distill: { threshold: null, dataset: { minExamples: 100, maxPairs: PAIRS } },
      },
    ],
  };
  platform = await runServe({
    env: {
      DISTILLERY_CONFIG_JSON: JSON.stringify(document),
      DISTILLERY_DATA_DIR: dataDir,
      DISTILLERY_API_KEYS: JSON.stringify([{ tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(ADMIN) }]),
      DISTILLERY_REDISTILL_SCHEDULE: '0 0 0 1 1 *',
    },
    port: 0,
    embedded: true,
    quiet: true,
    print: () => undefined,
  });
}, 120_000);

afterAll(async () => {
  await platform?.close();
  await teacher?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const admin = (p: string, init: RequestInit = {}) =>
  fetch(`${platform.url}${p}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...init.headers } });

describe('job work off the serving thread', () => {
  it('keeps the serving event loop free while a job builds a dataset of 40,000 pairs, trains and evaluates', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const res = await admin('/admin/tasks/intents/distill', { method: 'POST', body: '{}' });
    expect(res.status).toBeLessThan(300);
    const { job } = (await res.json()) as { job: { id: string } };
    let health = 0;
    let slowestHealthInMs = 0;
    let state = 'queued';
    const seen = new Set<string>();
    // Until the job ends: health checks back to back, and the job's state now and then.
    for (let i = 0; !['succeeded', 'failed', 'cancelled'].includes(state); i++) {
      const t0 = performance.now();
      expect((await fetch(`${platform.url}/healthz`)).status).toBe(200);
      slowestHealthInMs = Math.max(slowestHealthInMs, performance.now() - t0);
      health++;
      if (i % 10 === 0) {
        state = ((await (await admin(`/admin/jobs/${job.id}`)).json()) as { state: string }).state;
        seen.add(state);
      }
    }
    delay.disable();
    console.log(JSON.stringify({ pairs: PAIRS, eventLoopDelayMaxInMs: Math.round(delay.max / 1e6), p99InMs: Math.round(delay.percentile(99) / 1e6), slowestHealthInMs: Math.round(slowestHealthInMs), healthChecks: health }));
    expect(seen.has('building_dataset') || seen.has('training') || seen.has('evaluating')).toBe(true);
    expect(health).toBeGreaterThan(20);
    // Measured on a loaded 2-core machine: in-process (DISTILLERY_WORKER_THREAD=false) the loop
    // stalled 1.6–2.2 s at this size; on its own thread the worst delay was 130 ms.
    expect(delay.max / 1e6).toBeLessThan(750);
    expect(slowestHealthInMs).toBeLessThan(750);
  }, 300_000);
});
