import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { riskCoverageAt, type ScoredExample } from '../../src/core/eval/risk-coverage.js';
import { pairAgreement } from '../../src/core/pairs/pair-agreement.js';
import type { JobRecord } from '../../src/core/ports.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { generatePairs } from './eval-seed-pairs.js';

// The operator console in Debian's Chromium, clicked through as a user would, against the whole
// composed app (SQLite stores, real routes) served by @hono/node-server: enter the key, pick a
// range, filter pairs to disagreements, open one and see both answers, give feedback, cancel a
// job, see a version's risk–coverage curve with its chosen τ, promote and roll back a model. Each
// view is saved as a screenshot under
// test-artifacts/console/ (the CI artifact), and every view must fit a 390 px phone.

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const OPERATOR_KEY = 'dk-test-console-operator';
const SHOTS = join(process.cwd(), 'test-artifacts', 'console');
const INTENTS = ['balance', 'transfer', 'card_lost', 'pin_change', 'bill_pay', 'freeze_account', 'direct_deposit', 'oos'];
const DAY = 86_400_000;

let h: Harness;
let server: ServerType;
let baseURL: string;
let context: BrowserContext;
let userDataDir: string;
const now = Date.now();
// Inside the console's 7-day preset with half an hour to spare either side (Chromium may take a while to start).
const pairs = generatePairs({ count: 1500, seed: 21, start: new Date(now - 7 * DAY + 1_800_000).toISOString(), spanInMs: 7 * DAY - 3_600_000, tenants: ['acme', 'globex'] });
const JOB_ID = 'job-console-training';
const TARGET = { minAgreement: 0.9, confidence: 0.95 };

/** What the evaluation step stores for a calibrated cascade (core/distill/cascade-evaluation.ts), for v2's job. */
function cascadeEvaluation() {
  const scored: ScoredExample[] = Array.from({ length: 400 }, (_, i) => {
    const confidence = ((i * 37) % 400) / 400;
    return { confidence, agrees: ((i * 7) % 100) / 100 < 0.55 + 0.45 * confidence };
  });
  const [chosen] = riskCoverageAt(scored, [0.8]);
  return {
    n: scored.length, ece: 0.031, meanConfidence: 0.5, agreement: scored.filter((e) => e.agrees).length / scored.length,
    curve: riskCoverageAt(scored),
    chosen: { ...chosen!, source: "0.8000 (version's τ for minAgreement 0.9)", target: TARGET, targetMetOnTest: true, targetBoundMetOnTest: true },
  };
}

async function waitForChromium(): Promise<void> {
  // apt may still be installing it when the suite starts.
  for (let i = 0; i < 120; i++) {
    try {
      return await access(CHROMIUM);
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new Error(`${CHROMIUM} did not appear`);
}

async function seed(): Promise<void> {
  const d = h.distillery;
  await d.pairStore.upsertMany(pairs);
  const at = new Date(now - 60_000).toISOString();
  const job: JobRecord = {
    id: JOB_ID, task: 'bank-intents', kind: 'redistill', state: 'training', trigger: { type: 'manual', detail: 'console test' },
    progress: 0.42, createdAt: at, updatedAt: at, startedAt: at, steps: { counterAtStart: 750 },
    log: [{ at, level: 'info', message: 'dataset bank-intents.3 built: 742 examples' }, { at, level: 'info', message: 'training epoch 3/8' }],
  };
  await d.jobStore.create(job);
  // v2's job: its cascade evaluation on the test split (the curve the models view draws).
  await d.jobStore.create({ ...job, id: 'job-2', state: 'succeeded', outcome: 'promoted', progress: 1, steps: { cascade: cascadeEvaluation() }, log: [] });
  for (const n of [1, 2]) {
    await d.registry.create({ task: 'bank-intents', kind: 'onnx', artifactPath: `models/bank-intents/${n}`, lineage: { jobId: `job-${n}`, datasetVersion: `bank-intents.${n}`, teacherModel: 'DeepSeek-V3' }, metrics: { agreement: 0.85 + n / 100, accuracy: 0.8 + n / 100 } });
  }
  await d.registry.promote('bank-intents', 1);
  await d.registry.promote('bank-intents', 2);
}

beforeAll(async () => {
  h = await startHarness({
    tasks: [
      { name: 'bank-intents', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: INTENTS }, distill: { threshold: null }, routing: { policy: { type: 'cascade', target: TARGET, shadowSampleRate: 0.1 } } },
      { name: 'support-chat', teacher: 'teacher', distill: { threshold: null } },
    ],
    env: { DISTILLERY_API_KEYS: JSON.stringify([{ tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR_KEY) }]) },
  });
  await seed();
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: h.distillery.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await mkdir(SHOTS, { recursive: true });
  await waitForChromium();
  userDataDir = await mkdtemp(join(tmpdir(), 'distillery-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
}, 180_000);

afterAll(async () => {
  await context?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const consoleState = (page: Page) => page.evaluate(() => (globalThis as any).distilleryConsole);
const loads = async (page: Page): Promise<number> => (await consoleState(page)).loads;
/** Runs `action`, then waits until the console has finished one more load. */
async function andWaitForLoad(page: Page, action: () => Promise<unknown>): Promise<void> {
  const before = await loads(page);
  await action();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  await page.waitForFunction((n) => (globalThis as any).distilleryConsole.ready && (globalThis as any).distilleryConsole.loads > n, before, { timeout: 60_000 });
}
/** A new tab has no key yet (it lives in sessionStorage): open the URL and enter it. */
async function openWithKey(page: Page, path: string): Promise<void> {
  await page.goto(`${baseURL}${path}`);
  await page.waitForSelector('#key-form:not([hidden])');
  await andWaitForLoad(page, async () => {
    await page.fill('#api-key', OPERATOR_KEY);
    await page.click('#key-form button[type=submit]');
  });
}
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

describe('operator console in Chromium', { timeout: 180_000 }, () => {
  it('opens with a key, picks a range, and charts the estimates with their intervals', async () => {
    const page = await context.newPage();
    const problems = watchProblems(page);
    const res = await page.goto(`${baseURL}/console?task=bank-intents`);
    expect(res!.status()).toBe(200);
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('#key-form:not([hidden])');
    await andWaitForLoad(page, async () => {
      await page.fill('#api-key', OPERATOR_KEY);
      await page.click('#key-form button[type=submit]');
    });
    const seven = await consoleState(page);
    expect(seven.report.totals.pairs).toBe(pairs.length);
    expect(await page.locator('#summary-body tr').count()).toBe(2);
    expect(await page.locator('#summary-body tr').first().textContent()).toMatch(/\d+\.\d% \[\d+\.\d%, \d+\.\d%\] \(n = \d+\)/);

    await andWaitForLoad(page, () => page.selectOption('#range-preset', '24h'));
    const day = await consoleState(page);
    const lastDay = pairs.filter((p) => Date.parse(p.createdAt) >= Date.parse(day.report.window.since));
    expect(day.report.totals.pairs).toBe(lastDay.length);
    expect(day.report.totals.pairs).toBeLessThan(pairs.length / 4);
    expect(day.trend.bucketInMs).toBe(3_600_000);
    expect(await page.locator('#bucket').textContent()).toBe('1 h buckets');

    // The agreement chart: student quality with its interval band, served agreement, escalation, accuracy.
    const agreement = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const chart = (globalThis as any).Chart.getChart('agreement-chart');
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return chart.data.datasets.map((d: any) => ({ label: d.label, points: d.data.filter((v: unknown) => v !== null).length }));
    });
    const labels = agreement.map((d: { label: string }) => d.label);
    expect(labels).toEqual(expect.arrayContaining(['student quality % (random shadow)', 'student quality % (random shadow) lower', 'student quality % (random shadow) upper', 'served agreement %', 'escalation agreement %', 'accuracy % (gold labels)']));
    expect(agreement.find((d: { label: string }) => d.label === 'student quality % (random shadow)').points).toBeGreaterThan(10);
    for (const id of ['traffic-chart', 'cost-chart', 'errors-chart', 'latency-chart']) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const points = await page.evaluate((cid) => (globalThis as any).Chart.getChart(cid).data.datasets[0].data.filter((v: unknown) => v !== null).length, id);
      expect(points, id).toBeGreaterThan(10);
    }
    await shot(page, 'overview');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('filters the pair browser to disagreements, opens a pair with both answers and saves feedback', async () => {
    const page = await context.newPage();
    const problems = watchProblems(page);
    await openWithKey(page, `/console?task=bank-intents#pairs`);
    await andWaitForLoad(page, async () => {
      await page.selectOption('#pf-verdict', 'disagree');
      await page.click('#pair-filters button[type=submit]');
    });
    const rows = page.locator('#pairs-body tr');
    const expected = pairs.filter((p) => p.task === 'bank-intents' && pairAgreement(p) === 'disagree').slice(0, 50).map((p) => p.id);
    expect(expected.length).toBeGreaterThan(10);
    expect(await rows.count()).toBe(expected.length);
    const shown = (await consoleState(page)).pairs as { id: string; verdict: string }[];
    expect(shown.every((p) => p.verdict === 'disagree')).toBe(true);
    expect(shown.map((p) => p.id)).toEqual(expected);
    await shot(page, 'pairs');

    const first = pairs.find((p) => p.id === expected[0])!;
    await andWaitForLoad(page, () => rows.first().click());
    await page.waitForSelector('#view-pair:not([hidden])');
    expect(await page.locator('#pair-prompt').textContent()).toContain(first.request.messages[0]!.content as string);
    expect((await page.locator('#pair-teacher .answer').textContent())!.trim()).toBe(first.teacher!.text);
    expect((await page.locator('#pair-student .answer').textContent())!.trim()).toBe(first.student!.text);
    expect(await page.locator('#pair-teacher mark').count()).toBeGreaterThan(0);
    expect(await page.locator('#pair-teacher .meta').textContent()).toMatch(/latency .* cost /);

    await page.fill('#fb-gold', first.labels!.teacher!);
    await page.selectOption('#fb-thumbs', 'down');
    await page.click('#feedback-form button[type=submit]');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('status').textContent === 'Feedback saved.'); // eslint-disable-line @typescript-eslint/no-explicit-any
    const stored = await h.distillery.pairStore.get('bank-intents', first.tenant, first.id);
    expect(stored!.feedback).toMatchObject({ gold: first.labels!.teacher, thumbs: 'down' });
    await shot(page, 'pair');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a running job with its progress, steps and log, and cancels it after confirmation', async () => {
    const page = await context.newPage();
    const problems = watchProblems(page);
    await openWithKey(page, `/console#jobs`);
    const row = page.locator(`#jobs-body tr[data-id="${JOB_ID}"]`);
    expect(await row.textContent()).toContain('training');
    expect(await row.textContent()).toContain('42.0%');
    await shot(page, 'jobs');
    await andWaitForLoad(page, () => row.click());
    expect(await page.locator('#job-state').textContent()).toBe('training');
    expect(await page.locator('#job-steps').textContent()).toContain('counterAtStart');
    expect(await page.locator('#job-log').textContent()).toContain('training epoch 3/8');

    await page.click('#job-cancel');
    await page.waitForSelector('#confirm-dialog[open]');
    const answer = page.waitForResponse((r) => r.url().endsWith(`/admin/jobs/${JOB_ID}/cancel`));
    await page.click('#confirm-yes');
    const res = await answer;
    const status = page.locator('#status');
    if (res.ok()) {
      // The route exists: the job carries the request (or has already ended cancelled).
      await page.waitForFunction(() => /Cancel requested/.test((globalThis as any).document.getElementById('status').textContent)); // eslint-disable-line @typescript-eslint/no-explicit-any
      const job = await h.distillery.jobStore.get(JOB_ID);
      expect(job!.cancelRequested !== undefined || job!.state === 'cancelled').toBe(true);
    } else {
      // Without the route the console says so, with the server's own message.
      const body = (await res.json()) as { error: { message: string } };
      await page.waitForFunction(() => /Could not cancel the job/.test((globalThis as any).document.getElementById('status').textContent)); // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(await status.textContent()).toContain(body.error.message);
      expect(await status.getAttribute('class')).toContain('error');
    }
    await shot(page, 'job');
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    await page.close();
  });

  it("draws the serving version's risk–coverage curve with its chosen τ, the target and the online τ", async () => {
    const page = await context.newPage();
    const problems = watchProblems(page);
    await openWithKey(page, `/console?task=bank-intents#models`);
    await page.waitForSelector('#cascade-card');
    expect(await page.locator('#cascade-version').inputValue()).toBe('2');
    const evaluation = cascadeEvaluation();
    const datasets = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const chart = (globalThis as any).Chart.getChart('cascade-chart');
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return chart.data.datasets.map((d: any) => ({ label: d.label, points: d.data.length, first: d.data[0] }));
    });
    const curve = datasets.find((d: { label: string }) => d.label === 'agreement with the teacher %');
    expect(curve.points).toBe(evaluation.curve.filter((p) => p.served > 0).length);
    const chosen = datasets.find((d: { label: string }) => d.label.startsWith('chosen τ'));
    expect(chosen.label).toBe('chosen τ 0.8000');
    expect(chosen.first.x).toBeCloseTo(100 * evaluation.chosen.coverage, 6);
    expect(chosen.first.y).toBeCloseTo(100 * evaluation.chosen.agreement, 6);
    expect(datasets.map((d: { label: string }) => d.label)).toEqual(expect.arrayContaining(['agreement lower bound %', 'target 90.0%']));
    // Drawn, not only configured: the plot area of the canvas holds the curve's coloured pixels.
    const painted = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const canvas = (globalThis as any).document.getElementById('cascade-chart');
      const { width, height } = canvas;
      const px = canvas.getContext('2d').getImageData(0, 0, width, height).data;
      let orange = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] > 200 && px[i + 1] > 100 && px[i + 1] < 140 && px[i + 2] < 70 && px[i + 3] > 200) orange++;
      return { width, height, orange };
    });
    expect(painted.width).toBeGreaterThan(200);
    expect(painted.orange).toBeGreaterThan(50);
    const facts = await page.locator('#cascade-facts').textContent();
    expect(facts).toContain("version's τ0.8000");
    expect(facts).toContain('target met');
    // The serving version's online part: its shadow sample (no shadow rows of v2 in the seeded pairs) and the τ it keeps.
    expect(facts).toMatch(/shadow sample0 comparable random-shadow rows/);
    expect(facts).toMatch(/online τ0\.8000 \(offline, on 0 shadow rows/);
    await shot(page, 'models-cascade');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('promotes a model version and rolls it back, each after confirmation', async () => {
    const page = await context.newPage();
    const problems = watchProblems(page);
    await openWithKey(page, `/console?task=bank-intents#models`);
    expect(await page.locator('#models-promoted').textContent()).toBe('Serving: v2');
    expect(await page.locator('#models-body').textContent()).toContain('job job-1');

    // Declining changes nothing.
    await page.click('button[data-promote="1"]');
    await page.click('#confirm-no');
    expect((await h.distillery.registry.getPromoted('bank-intents'))!.version).toBe(2);

    await andWaitForLoad(page, async () => {
      await page.click('button[data-promote="1"]');
      await page.click('#confirm-yes');
    });
    expect(await page.locator('#models-promoted').textContent()).toBe('Serving: v1');
    expect((await h.distillery.registry.getPromoted('bank-intents'))!.version).toBe(1);
    await shot(page, 'models');

    await andWaitForLoad(page, async () => {
      await page.click('#models-rollback');
      await page.click('#confirm-yes');
    });
    expect(await page.locator('#models-promoted').textContent()).toBe('Serving: v2');
    expect((await h.distillery.registry.getPromoted('bank-intents'))!.version).toBe(2);
    expect(await page.locator('#status').textContent()).toContain('Rolled back: v2 of bank-intents');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits a 390 px phone in every view (no horizontal overflow)', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await openWithKey(page, `/console?task=bank-intents`);
    const first = pairs.find((p) => p.task === 'bank-intents')!;
    for (const view of ['overview', 'pairs', `pair/bank-intents/${first.tenant}/${first.id}`, 'jobs', `job/${JOB_ID}`, 'models']) {
      await andWaitForLoad(page, () => page.evaluate((v) => ((globalThis as any).location.hash = `#${v}`), view)); // eslint-disable-line @typescript-eslint/no-explicit-any
      const size = await page.evaluate(() => ({ scroll: (globalThis as any).document.documentElement.scrollWidth, inner: (globalThis as any).innerWidth })); // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(size.scroll, `${view}: ${size.scroll} px wide`).toBeLessThanOrEqual(size.inner);
      await shot(page, `phone-${view.split('/')[0]}`);
    }
    await page.close();
  });
});
