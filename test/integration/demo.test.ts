import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/run-demo.js';
import { DemoSetupError } from '../../src/demo/demo-target.js';
import { runServe, type RunningPlatform } from '../../src/serve-command.js';

// `npm run demo` in its fast mode, as CI runs it. Against a Distillery already running (started
// here on a free port, never 8787) it drives that server; with none answering it starts its own,
// says so, and deletes its temporary folder at the end and on Ctrl-C. Phases are named by who
// answered them, and the job's states are printed as it advances.

const ROOT = path.resolve(import.meta.dirname, '../..');

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** No `*` marker in the output without a footnote line saying what it marks. */
function expectNoUnexplainedMarkers(text: string) {
  const marked = text.split('\n').filter((l) => /\S\*(\s|$)/.test(l) && !l.trimStart().startsWith('*'));
  if (marked.length) expect(text.split('\n').some((l) => l.trimStart().startsWith('* '))).toBe(true);
}

describe('npm run demo against a running Distillery', () => {
  let server: RunningPlatform;
  let dataDir: string;
  afterAll(async () => {
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('drives that server (its stores get the pairs and the job) and labels each phase by who answered', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-running-'));
    const document = JSON.parse(readFileSync(path.join(ROOT, 'data', 'distillery.config.json'), 'utf8'));
    document.tasks[0].distill.threshold.newPairs = 2500;
    server = await runServe({
      env: {
        ...process.env,
        DISTILLERY_DATA_DIR: dataDir,
        DISTILLERY_API_KEYS: '',
        DISTILLERY_CONFIG_FILE: '',
        DISTILLERY_CONFIG_JSON: JSON.stringify(document),
        DISTILLERY_STORE: 'sqlite',
        DISTILLERY_QUEUE: 'local',
        DISTILLERY_ARTIFACTS: 'fs',
        // Like `npm start`, the server checks its triggers on a slow schedule: the demo must not wait for it.
        DISTILLERY_REDISTILL_SCHEDULE: '0 0 0 1 1 *',
        DISTILLERY_DEMO_TEACHER_LATENCY_MS: '5',
      },
      port: 0,
      embedded: true,
      quiet: true,
      print: () => undefined,
    });
    await expect(runDemo({ url: server.url, urlGiven: true, fast: true, print: () => undefined, progressBars: false })).rejects.toBeInstanceOf(DemoSetupError);

    const lines: string[] = [];
    const result = await runDemo({ url: server.url, urlGiven: true, key: server.apiKey!, fast: true, unseenSize: 300, print: (l) => lines.push(l), progressBars: false });
    await result.close();
    const text = lines.join('\n');
    expect(text).toContain(`Driving the Distillery at ${server.url}`);
    expect(result.target.own).toBeUndefined();
    expect(result.phases.traffic.requests).toBe(Math.ceil(2500 * 1.05));
    // No student existed and the job came only after the traffic: the teacher answered all of it.
    expect(result.phases.traffic).toMatchObject({ name: 'teacher only', studentShare: 0 });
    expect(text).toContain('No job yet: the server checks its triggers on its own schedule');
    expect(result.job!.trigger.type).toBe('manual');
    expect(result.job!.state).toBe('succeeded');
    expect(result.jobStates.at(-1)).toBe('succeeded');
    expect(result.jobStates).toContain('training');
    expect(text).toMatch(new RegExp(`job ${result.job!.id}: training +\\d+%`));
    expect(text).toMatch(new RegExp(`job ${result.job!.id}: succeeded +100% → (promoted|rejected)`));
    // Everything went to the running server: its own stores hold the pairs and the job.
    const d = server.distillery;
    await d.pairWriter.flush();
    expect(await d.pairStore.getCounter('clinc150-intent')).toBeGreaterThanOrEqual(result.phases.traffic.requests + 300);
    expect((await d.jobStore.get(result.job!.id))?.state).toBe('succeeded');
    expect(result.report.tasks[0]!.requests).toBe(300);
    expect(result.unseen.studentTeacherAgreement).toBeNull();
    const unseen = result.phases.unseen;
    expect(unseen.name).toBe(unseen.byArm.student === 0 ? 'teacher only' : unseen.byArm.teacher === 0 ? 'student only' : 'student first (cascade), teacher for the rest');
    expectNoUnexplainedMarkers(text);
  }, 900_000);
});

describe('npm run demo with no Distillery running', () => {
  it('says it starts its own, ends with a promoted student, and deletes its temporary folder', async () => {
    const lines: string[] = [];
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await runDemo({ url, fast: true, print: (l) => lines.push(l), progressBars: false });
    const dataDir = result.target.own!.dataDir;
    try {
      const text = lines.join('\n');
      expect(text).toContain(`No Distillery answers at ${url}, so the demo starts its own`);
      expect(result.job!.trigger.type).toBe('threshold');
      expect(result.job!.outcome).toBe('promoted');
      expect(result.promotedVersion).toBe(1);
      // Phase names follow what happened: the student may take over during the first phase.
      const traffic = result.phases.traffic;
      expect(traffic.name).toBe(traffic.byArm.student === 0 ? 'teacher only' : 'teacher, then the new student');
      expect(text).not.toContain('teacher-only traffic');
      expect(result.jobStates.at(-1)).toBe('succeeded');
      expect(text).toMatch(/job \S+: succeeded +100% → promoted/);
      expect(result.unseen.servedByStudent / result.unseen.requests).toBeGreaterThan(0.5);
      expect(result.unseen.studentTeacherAgreement).toBeGreaterThanOrEqual(0.9);
      const report = result.report.tasks[0]!;
      expect(report.servedBy.student).toBe(result.unseen.servedByStudent);
      expect(report.cost.ledger!.netSavingsUsd).toBeGreaterThan(0);
      for (const heading of ['1. Traffic', '2. Distillation', '3. A/B on', '4. Report', 'Cost per 1,000 requests', 'Console:', 'Notes: student quality']) expect(text).toContain(heading);
      expectNoUnexplainedMarkers(text);
      expect(existsSync(dataDir)).toBe(true);
    } finally {
      await result.close();
    }
    expect(existsSync(dataDir)).toBe(false);
  }, 900_000);

  it('deletes its temporary folder on Ctrl-C (SIGINT) mid-run', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'demo', '--own', '--fast'], {
      cwd: ROOT,
      env: { ...process.env, DISTILLERY_URL: '', DISTILLERY_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const dataDir = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        output += b.toString();
        const dir = /Embedded defaults .* in (\S+) \(temporary/.exec(output)?.[1];
        // Interrupt once traffic flows: the folder then holds a database, a queue and pairs.
        if (dir && /1\. Traffic/.test(output)) resolve(dir);
      });
      child.once('exit', (code) => reject(new Error(`demo exited (${code}) before its traffic started:\n${output}`)));
    });
    expect(existsSync(dataDir)).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(output).toContain(`SIGINT: stopping the demo's Distillery and deleting ${dataDir}`);
    expect(existsSync(dataDir)).toBe(false);
  }, 300_000);
});
