import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { unauthorized } from '../../src/core/errors.js';
import { DEFAULT_PRICING } from '../../src/core/eval/pricing.js';
import type { AppEnv } from '../../src/http/create-app.js';
import { toOpenAIError } from '../../src/http/error-mapping.js';
import { createReportRoutes } from '../../src/http/report-routes.js';
import { generatePairs } from './eval-seed-pairs.js';

// The console's overview (the former dashboard) in Debian's Chromium through playwright-core: the report routes are served by
// @hono/node-server on 127.0.0.1 over a seeded SQLite pair store, behind an admin-key check like
// the app's. The page must ask for the key, load the report and the trends of a window given in
// the URL, and draw the five trend charts with data,
// without a single console error or CSP violation.

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_KEY = 'sk-test-admin';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let store: SqlitePairStore;
let server: ServerType;
let baseURL: string;
let context: BrowserContext;
let userDataDir: string;

async function waitForChromium(): Promise<void> {
  // apt may still be installing it when the suite starts.
  const { access } = await import('node:fs/promises');
  for (let i = 0; i < 120; i++) {
    try {
      await access(CHROMIUM);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new Error(`${CHROMIUM} did not appear`);
}

beforeAll(async () => {
  store = new SqlitePairStore({ path: ':memory:' });
  await store.upsertMany(generatePairs({ count: 2000, seed: 21 }));
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    const { status, body } = toOpenAIError(err);
    return c.json(body, status);
  });
  app.use('/admin/*', async (c, next) => {
    if (c.req.header('authorization') !== `Bearer ${ADMIN_KEY}`) throw unauthorized();
    c.set('tenant', 'acme');
    await next();
  });
  app.route('/', createReportRoutes({ pairStore: store, tasks: ['bank-intents', 'support-chat'], pricing: DEFAULT_PRICING, clock: { now: () => Date.parse('2026-11-08T00:00:00.000Z') } }));
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await waitForChromium();
  userDataDir = await mkdtemp(join(tmpdir(), 'distillery-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await store?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

interface ChartInfo {
  type: string;
  datasets: { label: string; points: number; sum: number }[];
  painted: number;
}

describe('dashboard in Chromium', () => {
  it('asks for the admin key, then renders every chart with data and no console errors', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`requestfailed: ${req.url()}`));
    const allowed401: string[] = [];
    page.on('response', (res) => {
      if (res.status() === 401) allowed401.push(res.url());
    });

    const response = await page.goto(`${baseURL}/dashboard?task=bank-intents&since=2026-11-01T00:00&until=2026-11-08T00:00`);
    expect(response!.status()).toBe(200);
    expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");

    // No key yet: the page shows the key form.
    await page.waitForSelector('#key-form:not([hidden])');
    await page.fill('#api-key', ADMIN_KEY);
    await page.click('#key-form button[type=submit]');
    await page.waitForFunction(() => (globalThis as any).distilleryDashboard?.ready === true && (globalThis as any).distilleryDashboard.loads > 0);

    const charts = await page.evaluate(() => {
      // Runs in the page; the test's tsconfig has no DOM types, hence `any`.
      const w = globalThis as any;
      const out: Record<string, ChartInfo> = {};
      for (const id of ['traffic-chart', 'agreement-chart', 'cost-chart', 'errors-chart', 'latency-chart']) {
        const chart = w.Chart.getChart(id);
        const canvas = w.document.getElementById(id);
        const ctx = canvas.getContext('2d')!;
        const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
        out[id] = {
          type: chart.config.type,
          painted,
          datasets: chart.data.datasets.map((d: any) => ({
            label: String(d.label),
            points: d.data.filter((v: unknown) => v !== null).length,
            sum: d.data.reduce((s: number, v: any) => s + (typeof v === 'number' ? v : 0), 0),
          })),
        };
      }
      return out;
    });

    // The custom window from the URL: 7 days in 6-hour buckets, every bucket with traffic.
    const traffic = charts['traffic-chart']!;
    expect(traffic.datasets[0]!.label).toBe('requests');
    expect(traffic.datasets[0]!.points).toBe(28);
    const agreement = charts['agreement-chart']!;
    expect(agreement.type).toBe('line');
    const quality = agreement.datasets.find((d) => d.label === 'student quality % (random shadow)')!;
    expect(quality.points).toBeGreaterThan(20);
    expect(agreement.datasets.map((d) => d.label)).toContain('student quality % (random shadow) upper');
    const latency = charts['latency-chart']!;
    expect(latency.datasets.map((d) => d.label)).toEqual(expect.arrayContaining(['teacher p50', 'student p99']));
    for (const d of latency.datasets) expect(d.sum).toBeGreaterThan(0);
    for (const c of Object.values(charts)) expect(c.painted).toBeGreaterThan(1000);

    // The summary table lists both tasks with the labelled estimates and their intervals.
    expect(await page.locator('#summary-body tr').count()).toBe(2);
    expect(await page.locator('#summary-body tr').first().textContent()).toMatch(/\[\d+\.\d%, \d+\.\d%\] \(n = \d+\)/);
    await page.selectOption('#task-select', 'support-chat');
    await page.waitForFunction(() => (globalThis as any).Chart.getChart('agreement-chart').options.plugins.title.text.includes('support-chat'));

    // The only failed call is the keyless one; nothing else went wrong.
    expect(allowed401).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
