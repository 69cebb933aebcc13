// CPU per chat request through Distillery's HTTP app, without sockets or a load generator (issue
// 19): the app's own work (auth, body, validation, routing, the model call, the OpenAI-shaped
// answer, the pair record handed to the writer and written by the SQLite thread) measured as
// process CPU time (user + system, every thread) over sequential `app.fetch` calls. Paths:
//   student   the task pinned to an in-process ONNX student (CLINC150-sized weights)
//   teacher   the task pinned to the fake teacher (a separate process: its CPU is not counted)
// Rounds interleave the paths; medians of rounds. CPU time, unlike req/s, moves little with other
// users' load (it still grows ~1.5–2× on a saturated box: compare paths within one run).
//   npx tsx bench/gateway-request-cpu.ts [--requests 4000] [--rounds 5] [--paths student,teacher]
//   node --cpu-prof --import tsx bench/gateway-request-cpu.ts --paths student   (profile one path)
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const REQUESTS = Number(arg('requests', '4000'));
const ROUNDS = Number(arg('rounds', '5'));
const PATHS = arg('paths', 'student,teacher').split(',');
const KEY = 'dk-bench-key';
const LABELS = Array.from({ length: 150 }, (_, i) => `intent_${i}`);
const body = JSON.stringify({ model: 'bench', messages: [{ role: 'system', content: 'You are a support assistant.' }, { role: 'user', content: 'What is my account balance?' }], user: 'bench-user' });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };

function startTeacher(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'gateway-servers.ts'), 'teacher'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('READY ') && resolve({ url: line.slice(6), child }));
    child.once('exit', (code) => reject(new Error(`teacher exited ${code}`)));
  });
}

async function distillery(role: 'student' | 'teacher', teacherURL: string, dataDir: string) {
  const { loadConfig } = await import('../src/config.js');
  const { createDistillery } = await import('../src/compose/index.js');
  const config = loadConfig({
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: { teacher: { baseURL: teacherURL, auth: 'none', maxRetries: 0 } },
      tasks: [
        role === 'student'
          ? { name: 'bench', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: LABELS }, routing: { policy: { type: 'pinned', arm: 'student' } } }
          : { name: 'bench', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' } } },
      ],
    }),
    DISTILLERY_DATA_DIR: dataDir,
    DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 'bench', scopes: ['chat'], sha256: createHash('sha256').update(KEY).digest('hex') }]),
  });
  const d = await createDistillery(config);
  if (role === 'student') {
    const { initStudentWeights, parseHyperparameters } = await import('../src/adapters/onnx/train-student.js');
    const { writeStudentArtifacts } = await import('../src/adapters/onnx/student-artifacts.js');
    const { createRandom } = await import('../src/core/eval/random.js');
    const weights = initStudentWeights(LABELS, parseHyperparameters({}), createRandom(1));
    await writeStudentArtifacts(d.artifacts, 'models/bench/v1', weights, { task: 'bench', createdAt: new Date().toISOString() });
    const v = await d.registry.create({ task: 'bench', kind: 'onnx', artifactPath: 'models/bench/v1', lineage: {} });
    await d.registry.promote('bench', v.version);
    await d.preloadStudents();
  }
  return d;
}

async function once(app: { fetch: (r: Request) => Response | Promise<Response> }) {
  const res = await app.fetch(new Request('http://localhost/v1/chat/completions', { method: 'POST', headers, body }));
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-request-cpu-'));
  const teacher = await startTeacher();
  try {
    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const apps: Record<string, Awaited<ReturnType<typeof distillery>>> = {};
    for (const p of PATHS) apps[p] = await distillery(p as 'student' | 'teacher', teacher.url, path.join(dataDir, p));
    for (const p of PATHS) for (let i = 0; i < 2000; i++) await once(apps[p]!.app); // warm-up (JIT, tokenizer, session)
    const cpu: Record<string, number[]> = {};
    const wall: Record<string, number[]> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of PATHS) {
        const app = apps[p]!.app;
        const w0 = performance.now();
        const c0 = process.cpuUsage();
        for (let i = 0; i < REQUESTS; i++) await once(app);
        await apps[p]!.pairWriter.flush?.();
        const c = process.cpuUsage(c0);
        (cpu[p] ??= []).push((c.user + c.system) / REQUESTS);
        (wall[p] ??= []).push(((performance.now() - w0) * 1000) / REQUESTS);
      }
    }
    console.log(`\n${REQUESTS} sequential requests × ${ROUNDS} rounds per path, in process (app.fetch, no socket); medians:`);
    console.log('path      CPU µs/req  wall µs/req  rounds (CPU µs/req)');
    for (const p of PATHS) console.log(`${p.padEnd(9)} ${median(cpu[p]!).toFixed(0).padStart(10)} ${median(wall[p]!).toFixed(0).padStart(12)}  ${cpu[p]!.map((x) => x.toFixed(0)).join(' ')}`);
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (const p of PATHS) await apps[p]!.close();
  } finally {
    teacher.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}
await main();
