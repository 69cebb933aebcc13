// Gateway overhead: the same chat request sent to the fake teacher three ways — directly, through
// a bare pass-through proxy (the floor for any Node gateway) and through Distillery with pair
// logging on — sequentially and under load (autocannon). Gateways run pinned to one core
// (taskset -c 1) when taskset exists; the teacher and the load generator share the other.
//   npx tsx bench/gateway-overhead.ts [--sequential 2000] [--duration 15]
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SEQUENTIAL = arg('sequential', 2000);
const DURATION = arg('duration', 15);
const BENCH_KEY = 'dk-bench-key';
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

const children: ChildProcess[] = [];
function start(role: string, cpu: string, ...args: string[]): Promise<{ url: string; child: ChildProcess; lines: string[] }> {
  const cmd = [process.execPath, '--import', 'tsx', path.join(import.meta.dirname, 'gateway-servers.ts'), role, ...args];
  const child = hasTaskset ? spawn('taskset', ['-c', cpu, ...cmd], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      lines.push(line);
      if (line.startsWith('READY ')) resolve({ url: line.slice(6), child, lines });
    });
    child.once('exit', (code) => reject(new Error(`${role} exited ${code}`)));
  });
}

const body = JSON.stringify({ model: 'bench', messages: [{ role: 'system', content: 'You are a support assistant.' }, { role: 'user', content: 'What is my account balance?' }], user: 'bench-user' });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` };

function pct(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function sequential(urls: Record<string, string>) {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(urls).map((k) => [k, []]));
  // Warm-up, then interleaved rounds so drift on a shared machine hits every path alike.
  for (const url of Object.values(urls)) for (let i = 0; i < 200; i++) await (await fetch(`${url}/chat/completions`, { method: 'POST', headers, body })).arrayBuffer();
  const rounds = 10;
  for (let r = 0; r < rounds; r++) {
    for (const [name, url] of Object.entries(urls)) {
      for (let i = 0; i < SEQUENTIAL / rounds; i++) {
        const t0 = performance.now();
        const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers, body });
        await res.arrayBuffer();
        samples[name]!.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status}`);
      }
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([k, v]) => {
      const s = [...v].sort((a, b) => a - b);
      return [k, { p50: pct(s, 50), p99: pct(s, 99) }];
    }),
  );
}

async function loaded(url: string, connections: number) {
  const result = await autocannon({ url: `${url}/chat/completions`, method: 'POST', headers, body, connections, duration: DURATION });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total };
}

async function main() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-bench-'));
  try {
    const teacher = await start('teacher', '0');
    const bare = await start('bare', '1', teacher.url);
    const distillery = await start('distillery', '1', teacher.url, dataDir);
    const urls = { direct: teacher.url, bare: bare.url, distillery: distillery.url };
    console.log(`taskset: ${hasTaskset ? 'gateways pinned to cpu 1, teacher to cpu 0' : 'not available'}`);

    const seq = await sequential(urls);
    console.log(`\nSequential, ${SEQUENTIAL} requests per path (ms):`);
    console.log('path         p50      p99');
    for (const [k, v] of Object.entries(seq)) console.log(`${k.padEnd(12)} ${v.p50.toFixed(3).padStart(7)}  ${v.p99.toFixed(3).padStart(7)}`);
    console.log(`Distillery p50 - bare p50 = ${(seq.distillery!.p50 - seq.bare!.p50).toFixed(3)} ms (target <= 0.2 ms)`);

    for (const c of [10, 50]) {
      console.log(`\nLoaded, ${c} connections, ${DURATION} s:`);
      const res: Record<string, Awaited<ReturnType<typeof loaded>>> = {};
      for (const [k, u] of Object.entries(urls)) res[k] = await loaded(u, c);
      console.log('path         req/s     p50 ms  p99 ms');
      for (const [k, v] of Object.entries(res)) console.log(`${k.padEnd(12)} ${v.rps.toFixed(0).padStart(7)}  ${String(v.p50).padStart(7)} ${String(v.p99).padStart(7)}`);
      console.log(`Distillery / bare RPS = ${(res.distillery!.rps / res.bare!.rps).toFixed(3)} (target >= 0.8)`);
    }
    distillery.child.kill('SIGTERM');
    await new Promise((r) => distillery.child.once('exit', r));
    const written = distillery.lines.find((l) => l.startsWith('PAIRS_WRITTEN'));
    console.log(`\n${written ?? 'PAIRS_WRITTEN ?'} (every request through Distillery logged a pair)`);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}
main().catch((err) => {
  console.error(err);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});
