// Student-served requests through the HTTP API of two source trees, interleaved in one run (issue
// 19): this tree and a baseline (e.g. `git archive HEAD | tar -x -C /tmp/before`, node_modules
// linked), each a Distillery server pinned to cpu 1 answering from its in-process ONNX student with
// pairs logged into SQLite, the fake teacher on cpu 0. Rounds alternate the trees so that other
// users' load hits both alike; prints req/s and the server's CPU µs per request (all its threads,
// from /proc), medians of rounds, and the per-round ratio after / before.
//   npx tsx bench/gateway-student-ab.ts --baseline /tmp/before [--connections 10,50] [--duration 5] [--rounds 5]
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const opt = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const BASELINE = opt('baseline', '');
const CONNECTIONS = opt('connections', '10,50').split(',').map(Number);
const DURATION = Number(opt('duration', '5'));
const ROUNDS = Number(opt('rounds', '5'));
if (!BASELINE) throw new Error('give --baseline <source tree with bench/gateway-servers.ts>');
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const body = JSON.stringify({ model: 'bench', messages: [{ role: 'system', content: 'You are a support assistant.' }, { role: 'user', content: 'What is my account balance?' }], user: 'bench-user' });
const children: ChildProcess[] = [];

function start(tree: string, role: string, cpu: string, ...args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const cmd = [process.execPath, '--import', 'tsx', path.join(tree, 'bench/gateway-servers.ts'), role, ...args];
  const child = hasTaskset ? spawn('taskset', ['-c', cpu, ...cmd], { cwd: tree, stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(cmd[0]!, cmd.slice(1), { cwd: tree, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('READY ') && resolve({ url: line.slice(6), child }));
    child.once('exit', (code) => reject(new Error(`${tree} ${role} exited ${code}`)));
  });
}

/** CPU ms of a process and all its threads (utime + stime from /proc). */
function cpuMs(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function round(server: { url: string; child: ChildProcess }, connections: number) {
  // taskset wraps the server: its pid is the taskset's until exec, which replaces it in place.
  const c0 = cpuMs(server.child);
  const r = await autocannon({ url: `${server.url}/chat/completions`, method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer dk-bench-key' }, body, connections, duration: DURATION });
  const c1 = cpuMs(server.child);
  if (r.non2xx || r.errors) console.log(`  ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, cpu: ((c1 - c0) * 1000) / Math.max(1, r.requests.total) };
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'distillery-ab-'));
  try {
    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const teacher = await start(path.resolve(import.meta.dirname, '..'), 'teacher', '0');
    const trees = { before: path.resolve(BASELINE), after: path.resolve(import.meta.dirname, '..') };
    const servers = {
      before: await start(trees.before, 'student', '1', teacher.url, mkdtempSync(path.join(dir, 'before-'))),
      after: await start(trees.after, 'student', '1', teacher.url, mkdtempSync(path.join(dir, 'after-'))),
    };
    for (const s of Object.values(servers)) await round(s, 10); // warm-up
    for (const c of CONNECTIONS) {
      const runs: Record<'before' | 'after', { rps: number; cpu: number }[]> = { before: [], after: [] };
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
        for (const k of order) runs[k].push(await round(servers[k], c));
      }
      console.log(`\n${c} connections, ${DURATION} s × ${ROUNDS} rounds (medians):`);
      console.log('tree     req/s  CPU µs/req  rounds (req/s · CPU µs)');
      for (const k of ['before', 'after'] as const) console.log(`${k.padEnd(7)} ${median(runs[k].map((x) => x.rps)).toFixed(0).padStart(6)} ${median(runs[k].map((x) => x.cpu)).toFixed(0).padStart(11)}  ${runs[k].map((x) => `${x.rps.toFixed(0)}·${x.cpu.toFixed(0)}`).join(' ')}`);
      const ratio = (f: 'rps' | 'cpu') => median(runs.after.map((x, i) => x[f] / runs.before[i]![f]));
      console.log(`after / before, per round: req/s ×${ratio('rps').toFixed(3)}, CPU/req ×${ratio('cpu').toFixed(3)}`);
    }
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
await main();
