import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { KEYS, allPairs, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// GET /metrics carries the cascade's state per task and serving version: the version's τ and the
// online τ the router uses, the random-shadow rows they rest on and the adaptive shadow rate —
// built by chat traffic, read from the router's in-memory caches (a scrape reads no store).

const OPERATOR = 'dk-test-cascade-metrics-operator';
const TASK = 'support-cascade';
let h: Harness;
// The router refreshes its cached τ and shadow rate every 10 s of this clock: the test moves it on.
let offset = 0;
const clock = { now: () => Date.now() + offset };

beforeAll(async () => {
  h = await startHarness({
    // A confident local student (its logprobs give the cascade a confidence) that agrees with the teacher.
    // It answers with its own model name, not the version id: pairs still record the version id, which
    // the shadow sample matches on (recording the runtime's name left the sample at 0 rows).
    student: { model: 'phi4-mini-local', answer: () => ({ text: 'same answer', logprobs: [{ token: 'same', logprob: -0.01 }, { token: ' answer', logprob: -0.02 }] }) },
    teacher: { answer: () => ({ text: 'same answer' }) },
    tasks: [
      {
        name: TASK,
        teacher: 'teacher',
        student: { source: 'registry' },
        distill: { threshold: null },
        routing: { policy: { type: 'cascade', threshold: 0.5, target: { minAgreement: 0.9 }, adaptiveShadow: { startRate: 1, floorRate: 0.5, minPairs: 10, halfLifeInPairs: 10, minAgreement: 0.5 } } },
      },
      { name: 'teacher-only', teacher: 'teacher' },
    ],
    env: { DISTILLERY_API_KEYS: JSON.stringify([{ tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR) }]) },
    compose: { clock },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const call = (method: string, url: string, body?: unknown) =>
  h.distillery.app.request(url, { method, headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const chat = (i: number) => call('POST', '/v1/chat/completions', { model: TASK, logprobs: true, messages: [{ role: 'user', content: `question ${i}` }] });
const scrape = async () => {
  const res = await call('GET', '/metrics');
  expect(res.status).toBe(200);
  return res.text();
};
const sample = (text: string, name: string, labels: string) => {
  const m = new RegExp(`^${name}\\{${labels.replace(/[{}]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1] === '+Inf' ? Infinity : m[1]) : undefined;
};

describe('cascade gauges on GET /metrics', () => {
  it('shows τ (version and online), the state, shadow rows and the shadow rate per task and version after traffic', async () => {
    const before = await scrape();
    expect(before).not.toContain('distillery_cascade_threshold');

    const reg = await call('POST', `/admin/tasks/${TASK}/models`, { baseURL: h.student.baseURL, model: 'phi4-mini-local', promote: true });
    expect(reg.status, await reg.clone().text()).toBe(201);
    const version = ((await reg.json()) as { id: string }).id;

    for (let i = 0; i < 20; i++) expect((await chat(i)).status).toBe(200);
    // The shadow pairs are in the store; then, once the cache is stale, one request refreshes it in the background.
    for (const deadline = Date.now() + 30_000; ; ) {
      const shadowed = (await allPairs(h.distillery, TASK)).filter((p) => p.teacher && p.student && p.servedArm === 'student');
      if (shadowed.length >= 20) break;
      if (Date.now() > deadline) throw new Error(`only ${shadowed.length} shadow pairs stored`);
      await new Promise((r) => setTimeout(r, 50));
    }
    offset += 11_000;
    expect((await chat(99)).status).toBe(200);

    const labels = `task="${TASK}",version="${version}"`;
    let text = '';
    for (const deadline = Date.now() + 30_000; ; ) {
      text = await scrape();
      if ((sample(text, 'distillery_cascade_shadow_rows', labels) ?? 0) >= 20 && sample(text, 'distillery_shadow_rate', labels) !== 1) break;
      if (Date.now() > deadline) throw new Error(`gauges not refreshed:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sample(text, 'distillery_cascade_threshold', `${labels},source="version"`)).toBe(0.5);
    const online = sample(text, 'distillery_cascade_threshold', `${labels},source="online"`);
    expect(online).toBeGreaterThanOrEqual(0);
    expect(online).toBeLessThanOrEqual(1);
    expect(text).toMatch(new RegExp(`^distillery_cascade_threshold_state\\{${labels},state="(offline|loosened|tightened)"\\} 1$`, 'm'));
    expect(sample(text, 'distillery_cascade_shadow_agreements', labels)).toBe(sample(text, 'distillery_cascade_shadow_rows', labels));
    const rate = sample(text, 'distillery_shadow_rate', labels)!;
    expect(rate).toBeGreaterThanOrEqual(0.5);
    expect(rate).toBeLessThan(1);
    expect(text).toMatch(/^# TYPE distillery_cascade_threshold gauge$/m);
    expect(text).toMatch(/^# TYPE distillery_shadow_rate gauge$/m);
    // The same numbers as the cascade report, which the console shows.
    const report = (await (await call('GET', `/admin/reports/cascade?task=${TASK}`)).json()) as { tasks: { versions: { id: string; online?: { shadowRows: number; online?: { threshold: number } } }[] }[] };
    const served = report.tasks[0]!.versions.find((v) => v.id === version)!;
    expect(served.online?.shadowRows).toBe(sample(text, 'distillery_cascade_shadow_rows', labels));
    expect(served.online?.online?.threshold).toBe(online);

    // A scrape reads memory only: no pair listing, no registry read.
    const lists = vi.spyOn(h.distillery.pairStore, 'list');
    const promoted = vi.spyOn(h.distillery.registry, 'getPromoted');
    const listed = vi.spyOn(h.distillery.registry, 'list');
    try {
      await scrape();
      expect(lists).not.toHaveBeenCalled();
      expect(promoted).not.toHaveBeenCalled();
      expect(listed).not.toHaveBeenCalled();
    } finally {
      vi.restoreAllMocks();
    }
  });
});
