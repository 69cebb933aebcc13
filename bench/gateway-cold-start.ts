// Functions cold start on the HTTP trigger path (issue 19): from process start to the first
// answered chat request — imports, config, createDistillery, the Hono app, one teacher call through
// the exported Azure Functions handler — in a fresh Node process per run, as a new instance pays it.
// The app is compiled with tsc first (the deployed app is plain JS: tsx would add its own cost).
// The task is pinned to the (fake, loopback) teacher: no student model is loaded.
// CPU time (user + system, all threads, from process start) is printed beside wall time: it is
// what the imports cost even when other work shares the cores.
// What loads is pinned by test/unit/cold-start-imports.test.ts; to see where the time goes, run
// the probe left in node_modules/.cache/distillery-cold-start with `node --cpu-prof` (--keep).
//   npx tsx bench/gateway-cold-start.ts [--runs 7] [--keep]
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeOpenAIServer } from '../test/fixtures/fake-openai-server.js';

const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : 7;
const root = path.resolve(import.meta.dirname, '..');
// Inside node_modules so that the compiled files resolve the project's packages.
const out = path.join(root, 'node_modules/.cache/distillery-cold-start');

const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', out], { encoding: 'utf8' });
if (!existsSync(path.join(out, 'functions/http-api.js'))) throw new Error(`tsc emitted nothing:\n${tsc.stdout}`);
writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');

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
writeFileSync(path.join(out, 'cold-start-probe.mjs'), probe);

const teacher = await startFakeOpenAIServer({ model: 'gpt-4o', answer: () => ({ text: 'Your balance is available in the app.', promptTokens: 20, completionTokens: 8 }) });
const rows: Record<string, number>[] = [];
try {
  for (let r = 0; r < RUNS; r++) {
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
    const run = await promisify(execFile)(process.execPath, [path.join(out, 'cold-start-probe.mjs')], { env, encoding: 'utf8' });
    const wall = performance.now() - t0;
    rmSync(dataDir, { recursive: true, force: true });
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    if (!line.startsWith('{')) throw new Error(`probe failed: ${run.stderr}`);
    const row = JSON.parse(line) as Record<string, number>;
    if (row.status !== 200) throw new Error(`first request answered ${row.status}`);
    rows.push({ ...row, wall });
  }
} finally {
  await teacher.close();
  if (!process.argv.includes('--keep')) rmSync(out, { recursive: true, force: true });
}
const median = (k: string) => [...rows.map((r) => r[k]!)].sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
console.log(`load average: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${RUNS} fresh processes, medians (ms):`);
console.log('node boot   imports+config   first request   process start → answer   spawn → answer (wall)   CPU start → answer');
console.log(
  `${median('boot').toFixed(0).padStart(9)} ${median('imports').toFixed(0).padStart(16)} ${median('firstRequest').toFixed(0).padStart(15)} ${median('total').toFixed(0).padStart(24)} ${median('wall').toFixed(0).padStart(23)} ${median('cpu').toFixed(0).padStart(20)}`,
);
console.log(`target: process start → first answer <= 300 ms`);
