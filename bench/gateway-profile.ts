// CPU profile of one gateway path under load (issue 19): starts the fake teacher (cpu 0) and a
// Distillery server (cpu 1) under `node --cpu-prof`, drives it with autocannon, stops it with
// SIGTERM (the profile is written on exit) and prints the top self-time functions of its main
// thread over the measured seconds (bench/cpuprofile-top.ts reads a kept file again with --inclusive,
// --filter, --last).
//   npx tsx bench/gateway-profile.ts [--role student|distillery] [--connections 20] [--duration 10] [--top 45] [--keep <dir>]
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { printTop } from './cpuprofile-top.js';

const opt = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const ROLE = opt('role', 'student');
const CONNECTIONS = Number(opt('connections', '20'));
const DURATION = Number(opt('duration', '10'));
const TOP = Number(opt('top', '45'));
const KEEP = opt('keep', '');
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const body = JSON.stringify({ model: 'bench', messages: [{ role: 'system', content: 'You are a support assistant.' }, { role: 'user', content: 'What is my account balance?' }], user: 'bench-user' });

function start(role: string, cpu: string, nodeArgs: string[], ...args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const cmd = [process.execPath, ...nodeArgs, '--import', 'tsx', path.join(import.meta.dirname, 'gateway-servers.ts'), role, ...args];
  const child = hasTaskset ? spawn('taskset', ['-c', cpu, ...cmd], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('READY ') && resolve({ url: line.slice(6), child }));
    child.once('exit', (code) => reject(new Error(`${role} exited ${code}`)));
  });
}

async function main() {
  // The load generator (this process) on the teacher's core, so the profiled core is the server's alone.
  if (hasTaskset) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)]);
  const dir = KEEP || mkdtempSync(path.join(tmpdir(), 'distillery-profile-'));
  const profDir = path.join(dir, 'profiles');
  mkdirSync(dir, { recursive: true });
  const teacher = await start('teacher', '0', []);
  let gateway: { url: string; child: ChildProcess } | undefined;
  try {
    gateway = await start(ROLE, '1', ['--cpu-prof', `--cpu-prof-dir=${profDir}`], teacher.url, mkdtempSync(path.join(dir, 'data-')));
    const req = { url: `${gateway.url}/chat/completions`, method: 'POST' as const, headers: { 'content-type': 'application/json', authorization: 'Bearer dk-bench-key' }, body };
    await autocannon({ ...req, connections: CONNECTIONS, duration: 2 }); // warm-up (JIT, session)
    const r = await autocannon({ ...req, connections: CONNECTIONS, duration: DURATION });
    console.log(`${ROLE}: ${r.requests.average.toFixed(0)} req/s at ${CONNECTIONS} connections (${r.non2xx} non-2xx) — under the profiler, slower than unprofiled`);
    const exited = new Promise((res) => gateway!.child.once('exit', res));
    gateway.child.kill('SIGTERM');
    await exited;
    // The largest profile is the main thread's (the SQLite pair thread and loader threads are smaller).
    const files = readdirSync(profDir).map((f) => path.join(profDir, f)).sort((a, b) => statSync(b).size - statSync(a).size);
    for (const [i, f] of files.entries()) {
      if (i > 0) console.log('');
      printTop(f, { top: i === 0 ? TOP : 8, lastSeconds: DURATION });
    }
    if (KEEP) console.log(`\nprofiles kept in ${profDir}`);
  } finally {
    gateway?.child.kill('SIGKILL');
    teacher.child.kill('SIGKILL');
    if (!KEEP) rmSync(dir, { recursive: true, force: true });
  }
}
await main();
