import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { runCli } from '../fixtures/run-cli.js';

// The CLI defects of #20, each against a real server: `dataset export` of a JSONL file, `eval`
// with a missing or malformed dataset and with an unknown task, `jobs --task` of an unknown task,
// and `models list` with a header and metric columns.

const OPERATOR = 'dk-test-cli-operator';
let h: Harness;
let server: RunningServer;
let dir: string;
const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `e${i}`, messages: [{ role: 'user', content: `hello {${i}}` }], target: 'greeting', label: 'greeting' }));

const run = (args: string[]) => runCli(['--url', server.url, '--key', OPERATOR, ...args]);

beforeAll(async () => {
  h = await startHarness({
    tasks: [{ name: 'intents', teacher: 'teacher', classification: { labels: ['greeting', 'balance'] }, distill: { threshold: null } }],
    env: { DISTILLERY_API_KEYS: JSON.stringify([{ tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR) }]) },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-cli-'));
  const at = new Date().toISOString();
  await h.distillery.jobStore.create({ id: 'intents.1', task: 'intents', kind: 'redistill', state: 'succeeded', trigger: { type: 'manual' }, progress: 1, createdAt: at, updatedAt: at, steps: {}, log: [] });
  await h.distillery.artifacts.upsert('datasets/intents/intents.1/examples.jsonl', `${lines.join('\n')}\n`);
  await h.distillery.registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'models/intents/1', lineage: {}, metrics: { agreement: 0.9123, macroF1: 0.88 } });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('CLI fixes (#20)', () => {
  it('dataset export writes the JSONL lines as they are, to stdout and with -o', async () => {
    const r = await run(['dataset', 'export', 'intents.1']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.text.trimEnd().split('\n')).toEqual(lines);
    const file = path.join(dir, 'examples.jsonl');
    expect((await run(['dataset', 'export', 'intents.1', '--file', 'examples.jsonl', '-o', file])).code).toBe(EXIT.ok);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toEqual(lines);
  });

  it('eval names a missing dataset and the line of a malformed row, exit 2', async () => {
    const missing = await run(['eval', 'intents', '--dataset', path.join(dir, 'missing.jsonl')]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.text).toMatch(/missing\.jsonl does not exist/);
    expect(missing.text).not.toMatch(/ENOENT/);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"prompt": "hi"}\n\n{"prompt": "there",}\n');
    const r = await run(['eval', 'intents', '--dataset', bad]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.text).toMatch(/bad\.jsonl line 3: not JSON/);
  });

  it('eval of an unknown task is the API refusing: exit 3', async () => {
    const ok = path.join(dir, 'ok.jsonl');
    writeFileSync(ok, '{"prompt": "hi", "label": "greeting"}\n');
    const r = await run(['eval', 'nope', '--dataset', ok]);
    expect(r.code).toBe(EXIT.api);
    expect(r.text).toMatch(/HTTP 404/);
  });

  it('jobs --task of an unknown task is a 404 like models list, exit 3', async () => {
    const jobs = await run(['jobs', '--task', 'nope']);
    const models = await run(['models', 'list', 'nope']);
    expect(jobs.code).toBe(EXIT.api);
    expect(models.code).toBe(EXIT.api);
    expect(jobs.text).toMatch(/HTTP 404: Task 'nope' is not configured/);
    expect((await run(['jobs', '--task', 'intents'])).code).toBe(EXIT.ok);
  });

  it('models list prints a header and every metric as a column', async () => {
    const r = await run(['models', 'list', 'intents']);
    expect(r.code).toBe(EXIT.ok);
    const [header, row] = r.text.trimEnd().split('\n');
    expect(header).toMatch(/^version\s+state\s+kind\s+created\s+agreement\s+macroF1$/);
    expect(row).toMatch(/^intents@1\s+candidate\s+onnx\s+\S+\s+0\.9123\s+0\.88$/);
  });
});
