// Gateway overhead: the same chat request sent to the fake teacher directly, through a bare
// pass-through proxy (Hono + fetch: the floor for a naive Node gateway), through the Portkey AI
// gateway when it is installed (optional), through Distillery with pair logging on, and — for the
// loaded runs — a student-served request (in-process ONNX) through Distillery's HTTP API.
// Sequential latency, streaming time to first chunk and inter-chunk gap, and loaded RPS with the
// gateway's CPU µs per request (from /proc, so a regression shows without a quiet machine).
// Gateways run pinned to one core (taskset -c 1) when taskset exists; the teacher on the other.
//   npx tsx bench/gateway-overhead.ts [--sequential 2000] [--streaming 300] [--duration 10] [--rounds 3]
//                                    [--portkey <dir>]   (or PORTKEY_GATEWAY_DIR)
//                                    [--only sequential,streaming,loaded]   (parts to run; default all)
// Portkey: `npm install --prefix <dir> @portkey-ai/gateway` outside this project; <dir> is the prefix
// (or the package folder). Without it the Portkey rows are skipped with a message.
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const strArg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SEQUENTIAL = arg('sequential', 2000);
const STREAMING = arg('streaming', 300);
const DURATION = arg('duration', 15);
const ROUNDS = arg('rounds', 3);
const PORTKEY_DIR = strArg('portkey') ?? process.env.PORTKEY_GATEWAY_DIR;
const ONLY = new Set((strArg('only') ?? 'sequential,streaming,loaded').split(','));
const BENCH_KEY = 'dk-bench-key';
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

const children: ChildProcess[] = [];
function spawnPinned(cpu: string, cmd: string[]): ChildProcess {
  const child = hasTaskset ? spawn('taskset', ['-c', cpu, ...cmd], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}
function start(role: string, cpu: string, ...args: string[]): Promise<{ url: string; child: ChildProcess; lines: string[] }> {
  const child = spawnPinned(cpu, [process.execPath, '--import', 'tsx', path.join(import.meta.dirname, 'gateway-servers.ts'), role, ...args]);
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

function portkeyEntry(): string | undefined {
  if (!PORTKEY_DIR) return undefined;
  const candidates = [path.join(PORTKEY_DIR, 'node_modules/@portkey-ai/gateway/build/start-server.js'), path.join(PORTKEY_DIR, 'build/start-server.js'), PORTKEY_DIR];
  return candidates.find((c) => c.endsWith('.js') && existsSync(c));
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Portkey's Node build (start-server.js --port=N --headless), ready once it answers. */
async function startPortkey(entry: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawnPinned('1', [process.execPath, entry, `--port=${port}`, '--headless']);
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}/v1`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`portkey exited ${child.exitCode}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return { url, child };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('portkey did not start');
}

/** The gateway's CPU time so far (user + system), from /proc: what one request costs on its core. */
function cpuMs(child: ChildProcess | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${child!.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return undefined;
  }
}

const body = JSON.stringify({ model: 'bench', messages: [{ role: 'system', content: 'You are a support assistant.' }, { role: 'user', content: 'What is my account balance?' }], user: 'bench-user' });
const streamBody = JSON.stringify({ ...JSON.parse(body), stream: true });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` };
let teacherURL = '';
/** Portkey needs to be told the provider and where it is; the others ignore these headers. */
const headersFor = (name: string): Record<string, string> =>
  name === 'portkey' ? { ...headers, authorization: 'Bearer none', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': teacherURL } : headers;
type Target = { url: string; child?: ChildProcess };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function pct(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function sequential(urls: Record<string, string>) {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(urls).map((k) => [k, []]));
  // Warm-up, then interleaved rounds so drift on a shared machine hits every path alike.
  for (const [name, url] of Object.entries(urls)) for (let i = 0; i < 200; i++) await (await fetch(`${url}/chat/completions`, { method: 'POST', headers: headersFor(name), body })).arrayBuffer();
  const rounds = 10;
  for (let r = 0; r < rounds; r++) {
    for (const [name, url] of Object.entries(urls)) {
      for (let i = 0; i < SEQUENTIAL / rounds; i++) {
        const t0 = performance.now();
        const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: headersFor(name), body });
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

/** One streamed request: time to the first content chunk and the mean gap between content chunks. */
async function streamOnce(name: string, url: string): Promise<{ ttft: number; gap: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: headersFor(name), body: streamBody });
  if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  const times: number[] = [];
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const now = performance.now();
    const text = decoder.decode(chunk, { stream: true });
    for (const m of text.matchAll(/"content":"[^"]/g)) if (m) times.push(now);
  }
  if (!times.length) throw new Error(`${name}: no content chunk`);
  return { ttft: times[0]! - t0, gap: times.length > 1 ? (times.at(-1)! - times[0]!) / (times.length - 1) : 0 };
}

async function streaming(urls: Record<string, string>) {
  const ttft: Record<string, number[]> = Object.fromEntries(Object.keys(urls).map((k) => [k, []]));
  const gap: Record<string, number[]> = Object.fromEntries(Object.keys(urls).map((k) => [k, []]));
  const ok: Record<string, string> = {};
  for (const [name, url] of Object.entries(urls)) {
    try {
      for (let i = 0; i < 50; i++) await streamOnce(name, url);
      ok[name] = url;
    } catch (err) {
      // Reported, not fatal: the other paths are still compared (Portkey 1.15's Node build fails here).
      console.log(`streaming through ${name} failed: ${(err as Error).message}; its row is left out`);
    }
  }
  const rounds = 10;
  for (let r = 0; r < rounds; r++) {
    for (const [name, url] of Object.entries(ok)) {
      for (let i = 0; i < STREAMING / rounds; i++) {
        const s = await streamOnce(name, url);
        ttft[name]!.push(s.ttft);
        gap[name]!.push(s.gap);
      }
    }
  }
  return Object.fromEntries(Object.keys(ok).map((k) => [k, { ttft: median(ttft[k]!), ttftP99: pct([...ttft[k]!].sort((a, b) => a - b), 99), gap: median(gap[k]!) }]));
}

async function loaded(name: string, target: Target, connections: number) {
  const cpu0 = cpuMs(target.child);
  const result = await autocannon({ url: `${target.url}/chat/completions`, method: 'POST', headers: headersFor(name), body, connections, duration: DURATION });
  const cpu1 = cpuMs(target.child);
  // Reported, not fatal: on a shared machine a stray 503/504 should not discard the other rows.
  if (result.non2xx > 0 || result.errors > 0) {
    const codes = Object.entries((result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {}).map(([k, v]) => `${k}×${v.count}`);
    console.log(`  ${name}: ${result.non2xx} non-2xx (${codes.join(' ')}), ${result.errors} errors of ${result.requests.total}`);
  }
  const cpuUsPerRequest = cpu0 !== undefined && cpu1 !== undefined && result.requests.total > 0 ? ((cpu1 - cpu0) * 1000) / result.requests.total : NaN;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total, cpuUsPerRequest };
}

const fmt = (x: number | undefined, digits = 0) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

async function main() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-bench-'));
  try {
    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const teacher = await start('teacher', '0');
    teacherURL = teacher.url;
    const bare = await start('bare', '1', teacher.url);
    const entry = portkeyEntry();
    const portkey = entry ? await startPortkey(entry) : undefined;
    if (!portkey) console.log(`portkey: skipped (${PORTKEY_DIR ? `no start-server.js under ${PORTKEY_DIR}` : 'give --portkey <dir> or PORTKEY_GATEWAY_DIR'})`);
    const distillery = await start('distillery', '1', teacher.url, dataDir);
    const student = await start('student', '1', teacher.url, mkdtempSync(path.join(dataDir, 'student-')));
    const targets: Record<string, Target> = { direct: teacher, bare, ...(portkey ? { portkey } : {}), distillery };
    const urls = Object.fromEntries(Object.entries(targets).map(([k, t]) => [k, t.url]));
    console.log(`taskset: ${hasTaskset ? 'gateways pinned to cpu 1, teacher to cpu 0' : 'not available'}`);
    console.log(`pair durability: ${distillery.lines.find((l) => l.startsWith('DURABILITY '))?.slice(11) ?? '?'}`);

    if (ONLY.has('sequential')) {
      const seq = await sequential(urls);
      console.log(`\nSequential, ${SEQUENTIAL} requests per path (ms):`);
      console.log('path         p50      p99    added p50 over direct');
      for (const [k, v] of Object.entries(seq)) console.log(`${k.padEnd(12)} ${v.p50.toFixed(3).padStart(7)}  ${v.p99.toFixed(3).padStart(7)}  ${(v.p50 - seq.direct!.p50).toFixed(3).padStart(7)}`);
      const added = (k: string) => seq[k]!.p50 - seq.direct!.p50;
      if (seq.portkey) console.log(`Distillery added p50 / Portkey added p50 = ${(added('distillery') / added('portkey')).toFixed(3)} (target <= 0.5)`);
      console.log(`Distillery added p50 / bare added p50 = ${(added('distillery') / added('bare')).toFixed(3)}`);
    }
    if (ONLY.has('streaming')) {
      const st = await streaming(urls);
      console.log(`\nStreaming, ${STREAMING} requests per path (ms, medians):`);
      console.log('path         TTFT   TTFT p99  added TTFT  inter-chunk gap');
      for (const [k, v] of Object.entries(st)) console.log(`${k.padEnd(12)} ${v.ttft.toFixed(3).padStart(6)} ${v.ttftP99.toFixed(3).padStart(9)} ${(v.ttft - st.direct!.ttft).toFixed(3).padStart(10)} ${v.gap.toFixed(3).padStart(10)}`);
      console.log(`Distillery added TTFT = ${(st.distillery!.ttft - st.direct!.ttft).toFixed(3)} ms (target <= 2 ms)`);
    }

    const loadedTargets: Record<string, Target> = { ...targets, student };
    for (const c of ONLY.has('loaded') ? [10, 50] : []) {
      console.log(`\nLoaded, ${c} connections, ${DURATION} s × ${ROUNDS} rounds (median of rounds):`);
      const runs: Record<string, Awaited<ReturnType<typeof loaded>>[]> = {};
      // Rounds interleave the paths so that load from other users hits each alike.
      for (let r = 0; r < ROUNDS; r++) for (const [k, t] of Object.entries(loadedTargets)) (runs[k] ??= []).push(await loaded(k, t, c));
      const m = (k: string, f: 'rps' | 'p50' | 'p99' | 'cpuUsPerRequest') => median(runs[k]!.map((x) => x[f]));
      console.log('path         req/s   p50 ms  p99 ms  CPU µs/req  rounds (req/s)');
      for (const k of Object.keys(runs)) console.log(`${k.padEnd(12)} ${fmt(m(k, 'rps')).padStart(6)} ${String(m(k, 'p50')).padStart(7)} ${String(m(k, 'p99')).padStart(7)} ${fmt(m(k, 'cpuUsPerRequest')).padStart(10)}  ${runs[k]!.map((x) => x.rps.toFixed(0)).join(' ')}`);
      // Ratios per round (same round, same machine state), then their median.
      const ratio = (a: string, b: string) => median(runs[a]!.map((x, i) => x.rps / runs[b]![i]!.rps));
      console.log(`Distillery / bare RPS = ${ratio('distillery', 'bare').toFixed(3)} (target >= 1.0)`);
      if (runs.portkey) console.log(`Distillery / Portkey RPS = ${ratio('distillery', 'portkey').toFixed(3)} (target >= 2.0)`);
      console.log(`student-served RPS = ${fmt(m('student', 'rps'))} (target >= 3000)`);
    }
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
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
