// Reads a `.cpuprofile` (node --cpu-prof) and prints where the time went: self time per function,
// or inclusive time per function (a function counted once per sample however deep it recurses),
// as a share of the sampled (non-idle) time. Used by bench/gateway-profile.ts; also standalone:
//   npx tsx bench/cpuprofile-top.ts <file.cpuprofile> [--inclusive] [--top 40] [--filter text] [--last <seconds>]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const shortURL = (url: string) => url.replace(/^file:\/\//, '').replace(/\?.*$/, '').replace(/.*\/(node_modules|src|bench)\//, '$1/');
const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}  ${shortURL(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;

export interface TopOptions {
  inclusive?: boolean;
  top?: number;
  filter?: string;
  /** Only the samples of the profile's last `lastSeconds` (skips start-up and warm-up). */
  lastSeconds?: number;
}

/** Sample ids, only those within the last `lastSeconds` of the profile when given. */
function windowed(profile: Profile, lastSeconds: number | undefined): number[] {
  if (lastSeconds === undefined) return profile.samples;
  const from = profile.endTime - lastSeconds * 1e6;
  const out: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t >= from) out.push(profile.samples[i]!);
  }
  return out;
}

/** Rows of [function, share of busy samples], largest first. */
export function topFunctions(profile: Profile, options: TopOptions = {}): { busy: number; total: number; rows: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = windowed(profile, options.lastSeconds);
  const counts = new Map<number, number>();
  for (const s of samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const idle = [...counts].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, c]) => a + c, 0);
  const busy = samples.length - idle;
  const agg = new Map<string, number>();
  for (const [id, c] of counts) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    if (!options.inclusive) {
      const k = label(byId.get(id)!);
      agg.set(k, (agg.get(k) ?? 0) + c);
      continue;
    }
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      agg.set(k, (agg.get(k) ?? 0) + c);
    }
  }
  const rows = [...agg]
    .filter(([k]) => !options.filter || k.includes(options.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, options.top ?? 40)
    .map(([k, c]): [string, number] => [k, c / Math.max(1, busy)]);
  return { busy, total: samples.length, rows };
}

export function printTop(file: string, options: TopOptions = {}): void {
  const { busy, total, rows } = topFunctions(JSON.parse(readFileSync(file, 'utf8')) as Profile, options);
  console.log(`${file}: ${busy} busy samples of ${total} (${options.inclusive ? 'inclusive' : 'self'} time, % of busy)`);
  for (const [k, share] of rows) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${k}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: cpuprofile-top.ts <file.cpuprofile> [--inclusive] [--top N] [--filter text]');
  const opt = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const last = opt('last');
  printTop(file, { inclusive: process.argv.includes('--inclusive'), top: Number(opt('top') ?? 40), filter: opt('filter'), lastSeconds: last === undefined ? undefined : Number(last) });
}
