// Functions cold start on the HTTP trigger path (issue 19): from process start to the first
// answered chat request — imports, config, createDistillery, the Hono app, one teacher call through
// the exported Azure Functions handler — in a fresh Node process per run, as a new instance pays it.
// The app is compiled with tsc first (the deployed app is plain JS: tsx would add its own cost).
// The task is pinned to the (fake, loopback) teacher: no student model is loaded.
// CPU time (user + system, all threads, from process start) is printed beside wall time: it is
// what the imports cost even when other work shares the cores.
// What loads is pinned by test/unit/cold-start-imports.test.ts; to see where the time goes, run
// the probe left in node_modules/.cache/distillery-cold-start with `node --cpu-prof` (--keep).
//   npx tsx bench/gateway-cold-start.ts [--runs 7] [--keep] [--baseline <dir>]
// --baseline: another checkout (e.g. `git archive HEAD | tar -x -C /tmp/before`, node_modules
// linked) compiled beside this one; runs alternate between the two trees, medians for each.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeOpenAIServer } from '../test/fixtures/fake-openai-server.js';

const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : 7;
const b = process.argv.indexOf('--baseline');
const BASELINE = b > 0 ? path.resolve(process.argv[b + 1]!) : undefined;
const root = path.resolve(import.meta.dirname, '..');

/** Compiles a tree inside its node_modules (so the compiled files resolve the project's packages). */
function compile(tree: string, name: string): string {
  const out = path.join(tree, 'node_modules/.cache', name);
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(tree, 'tsconfig.build.json'), '--outDir', out], { encoding: 'utf8' });
  if (!existsSync(path.join(out, 'functions/http-api.js'))) throw new Error(`tsc emitted nothing:\n${tsc.stdout}`);
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
  return out;
}
const out = compile(root, 'distillery-cold-start');
// A linked node_modules is shared: the baseline gets a folder of its own.
const baselineOut = BASELINE ? compile(BASELINE, 'distillery-cold-start-baseline') : undefined;

const probe = `
const t0 = performance.now();
const { httpApi } = await import('./functions/http-api.js');
const af = await import('@azure/functions');
const { HttpRequest, InvocationContext } = af.HttpRequest ? af : af.default;
const imported = performance.now();
const req = new HttpRequest({ method: 'POST', url: 'http://localhost:7071/v1/chat/completions',
  headers: { authorization: 'Bearer dk-cold', 'content-type': 'application/json' },
  body: { string: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'What is my account balance?' }] }) } });
const res = await httpApi(req, new InvocationContext({ functionName: 'http-api', invocationId: 'cold-1' }));
const text = await new Response(res.body).text();
const answered = performance.now();
const cpu = process.cpuUsage();
console.log(JSON.stringify({ boot: t0, imports: imported - t0, firstRequest: answered - imported, total: answered, cpu: (cpu.user + cpu.system) / 1000, status: res.status }));
process.exit(0);
`;
for (const dir of [out, ...(baselineOut ? [baselineOut] : [])]) writeFileSync(path.join(dir, 'cold-start-probe.mjs'), probe);

const teacher = await startFakeOpenAIServer({ model: 'gpt-4o', answer: () => ({ text: 'Your balance is available in the app.', promptTokens: 20, completionTokens: 8 }) });
const rows: Record<string, number>[] = [];
const baselineRows: Record<string, number>[] = [];
try {
  for (let r = 0; r < RUNS; r++) for (const [dir, into] of [[out, rows], ...(baselineOut ? [[baselineOut, baselineRows]] : [])] as [string, Record<string, number>[]][]) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-cold-'));
    mkdirSync(dataDir, { recursive: true });
    const env = {
      ...process.env,
      DISTILLERY_DATA_DIR: dataDir,
      DISTILLERY_CONFIG_JSON: JSON.stringify({
        models: { teacher: { baseURL: teacher.baseURL, auth: 'none', maxRetries: 0 } },
        tasks: [{ name: 'bench', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' } } }],
      }),
      DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 'bench', scopes: ['chat'], sha256: createHash('sha256').update('dk-cold').digest('hex') }]),
    };
    const t0 = performance.now();
    // Asynchronously: the fake teacher answers from this process's event loop.
    const run = await promisify(execFile)(process.execPath, [path.join(dir, 'cold-start-probe.mjs')], { env, encoding: 'utf8' });
    const wall = performance.now() - t0;
    rmSync(dataDir, { recursive: true, force: true });
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    if (!line.startsWith('{')) throw new Error(`probe failed: ${run.stderr}`);
    const row = JSON.parse(line) as Record<string, number>;
    if (row.status !== 200) throw new Error(`first request answered ${row.status}`);
    into.push({ ...row, wall });
  }
} finally {
  await teacher.close();
  if (!process.argv.includes('--keep')) for (const dir of [out, baselineOut]) if (dir) rmSync(dir, { recursive: true, force: true });
}
const median = (rs: Record<string, number>[], k: string) => [...rs.map((r) => r[k]!)].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
console.log(`load average: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${RUNS} fresh processes per tree, medians (ms):`);
console.log('tree        node boot   imports+config   first request   process start → answer   spawn → answer (wall)   CPU start → answer');
for (const [name, rs] of [['this', rows], ...(baselineOut ? [['baseline', baselineRows]] : [])] as [string, Record<string, number>[]][]) {
  const cols = ['boot', 'imports', 'firstRequest', 'total', 'wall', 'cpu'].map((k, j) => median(rs, k).toFixed(0).padStart([9, 16, 15, 24, 23, 20][j]!));
  console.log(`${name.padEnd(10)} ${cols.join(' ')}`);
}
console.log(`target: process start → first answer <= 300 ms`);
