import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCli, EXIT, main } from '../../src/cli.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// The distillery CLI: every command's --help, config check, and the API-client commands against
// a real server.

function capture() {
  const chunks: string[] = [];
  const write = (c: string | Uint8Array) => (chunks.push(typeof c === 'string' ? c : Buffer.from(c).toString()), true);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(write as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(write as typeof process.stdout.write);
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void chunks.push(a.join(' ') + '\n'));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void chunks.push(a.join(' ') + '\n'));
  return {
    text: () => chunks.join(''),
    restore: () => [out, err, log, error].forEach((s) => s.mockRestore()),
  };
}

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  const c = capture();
  try {
    const code = await main(['node', 'distillery', ...args]);
    return { code, text: c.text() };
  } finally {
    c.restore();
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

function commandPaths(): string[][] {
  const paths: string[][] = [[]];
  const walk = (cmd: ReturnType<typeof buildCli>, prefix: string[]) => {
    for (const sub of cmd.commands) {
      paths.push([...prefix, sub.name()]);
      walk(sub as ReturnType<typeof buildCli>, [...prefix, sub.name()]);
    }
  };
  walk(buildCli(), []);
  return paths;
}

describe('distillery --help', () => {
  const paths = commandPaths();
  it('covers the commands the product promises', () => {
    const names = paths.map((p) => p.join(' '));
    for (const c of ['serve', 'demo', 'distill', 'jobs', 'models list', 'models promote', 'models rollback', 'eval', 'report', 'dataset export', 'config check']) {
      expect(names).toContain(c);
    }
  });
  for (const p of paths) {
    it(`'${['distillery', ...p].join(' ')} --help' exits 0 with usage${p.length ? ' and examples' : ''}`, async () => {
      const { code, text } = await run([...p, '--help']);
      expect(code).toBe(EXIT.ok);
      expect(text).toMatch(/Usage: distillery/);
      if (p.length && !['models', 'dataset', 'config'].includes(p.join(' '))) expect(text).toMatch(/Example/);
    });
  }
});

describe('distillery config check', () => {
  it('accepts the embedded defaults', async () => {
    const { code, text } = await run(['config', 'check'], { DISTILLERY_CONFIG_JSON: undefined, DISTILLERY_CONFIG_FILE: undefined, DISTILLERY_STORE: undefined });
    expect(code).toBe(0);
    expect(text).toMatch(/configuration OK/);
    expect(text).toMatch(/clinc150-intent/);
  });
  it('rejects a broken configuration with a message naming the setting, exit 2', async () => {
    const r1 = await run(['config', 'check'], { DISTILLERY_STORE: 'cosmos', CosmosDb: undefined, CosmosDb__accountEndpoint: undefined });
    expect(r1.code).toBe(EXIT.usage);
    expect(r1.text).toMatch(/CosmosDb/);
    const r2 = await run(['config', 'check'], { DISTILLERY_PORT: 'eighty' });
    expect(r2.code).toBe(EXIT.usage);
    expect(r2.text).toMatch(/DISTILLERY_PORT/);
    const r3 = await run(['--json', 'config', 'check'], { DISTILLERY_CONFIG_JSON: '{"models":{},"tasks":[{"name":"t","teacher":"nope"}]}' });
    expect(r3.code).toBe(EXIT.usage);
    expect(JSON.parse(r3.text).issues.join('\n')).toMatch(/config\.tasks\.t\.teacher: unknown model 'nope'/);
  });
  it('usage errors exit 2', async () => {
    expect((await run(['models', 'promote', 'only-task'])).code).toBe(EXIT.usage);
    expect((await run(['no-such-command'])).code).toBe(EXIT.usage);
  });
});

describe('API-client commands against a running server', () => {
  let h: Harness;
  let server: RunningServer;
  beforeAll(async () => {
    h = await startHarness({ tasks: [{ name: 'cli-task', teacher: 'teacher', student: { source: 'registry' }, distill: { threshold: null } }] });
    server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await h.close();
  });
  const api = (args: string[]) => run(['--url', server.url, '--key', KEYS.admin, ...args]);

  it('distill queues a job; a second one records the trigger; jobs lists it', async () => {
    const first = await api(['distill', 'cli-task']);
    expect(first.code).toBe(0);
    expect(first.text).toMatch(/queued cli-task\.1/);
    const second = await api(['distill', 'cli-task']);
    expect(second.text).toMatch(/already running for cli-task: cli-task\.1/);
    const jobs = await api(['--json', 'jobs', '--task', 'cli-task']);
    expect(JSON.parse(jobs.text).map((j: { id: string }) => j.id)).toEqual(['cli-task.1']);
    expect((await api(['--json', 'jobs', 'show', 'cli-task.1'])).code).toBe(0);
  });
  it('jobs show details a job; jobs cancel asks its worker to stop, which ends it cancelled (#15)', async () => {
    const shown = await api(['jobs', 'show', 'cli-task.1']);
    expect(shown.code).toBe(0);
    expect(shown.text).toMatch(/deliveries\s+0\s+resumes 0/);
    expect(shown.text).toMatch(/next retry\s+-/);
    const asked = await api(['--json', 'jobs', 'cancel', 'cli-task.1']);
    expect(asked.code).toBe(0);
    expect(JSON.parse(asked.text)).toMatchObject({ id: 'cli-task.1', state: 'queued', cancelRequested: { by: expect.stringMatching(/tenant-a/) } });
    // No worker runs in this process: the one that receives the job's message ends it.
    const ended = await h.distillery.runner.run('cli-task.1');
    expect(ended).toMatchObject({ state: 'cancelled', error: { code: 'cancelled' } });
    const again = await api(['jobs', 'cancel', 'cli-task.1']);
    expect(again.code).toBe(0);
    expect(again.text).toMatch(/^cancelled cli-task\.1/m);
    const missing = await api(['jobs', 'cancel', 'cli-task.99']);
    expect(missing.code).toBe(EXIT.api);
    expect(missing.text).toMatch(/HTTP 404/);
    // The task is free again: the trigger recorded while cli-task.1 waited got its follow-up job.
    const follow = await h.distillery.jobStore.get('cli-task.2');
    expect(follow).toMatchObject({ state: 'queued', trigger: { detail: expect.stringMatching(/1 trigger recorded while/) } });
  });
  it('distill --spec posts a dataset job spec; an invalid one is refused with exit 3 naming the field', async () => {
    const file = path.join(tmpdir(), `spec-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ teacher: 'teacher', task_type: 'nli', training_data: '' }));
    const bad = await api(['distill', '--spec', file]);
    expect(bad.code).toBe(EXIT.api);
    expect(bad.text).toMatch(/HTTP 400: .*(student|training_data)/);
    rmSync(file);
  });

  it('models list, report and dataset export answer; API errors exit 3', async () => {
    expect((await api(['models', 'list', 'cli-task'])).text).toMatch(/no versions/);
    const report = await api(['report', '--task', 'cli-task']);
    expect(report.code).toBe(0);
    const missing = await api(['dataset', 'export', 'cli-task.1', '--file', 'manifest.json']);
    expect(missing.code).toBe(EXIT.api);
    expect(missing.text).toMatch(/HTTP 404/);
    const rollback = await api(['models', 'rollback', 'cli-task']);
    expect(rollback.code).toBe(EXIT.api);
    expect(rollback.text).toMatch(/HTTP 403: .*operator/);
    const noKey = await run(['--url', server.url, 'jobs'], { DISTILLERY_API_KEY: undefined });
    expect(noKey.code).toBe(EXIT.usage);
  });
});
