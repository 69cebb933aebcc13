import type { OfflineReport } from './offline-report.js';
import type { OnlineReport } from './online-report.js';

// Renderers for the report objects: JSON (the object itself), Markdown (docs, PR comments, the
// example report in the repository) and a plain-text table for the CLI. They only format; every
// number is computed by the report builders.

export type Report = OfflineReport | OnlineReport;

export function renderReportJson(report: Report): string {
  return JSON.stringify(report, null, 2);
}

const num = (x: number | null | undefined, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const pct = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(digits)}%`);
const signedPct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`);
const ms = (x: number | null | undefined) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x >= 3_600_000) return `${+(x / 3_600_000).toFixed(1)} h`;
  if (x >= 60_000) return `${+(x / 60_000).toFixed(1)} min`;
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`;
};
const usd = (x: number | null | undefined) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  return `${x < 0 ? '-' : ''}$${a >= 100 ? a.toFixed(0) : a >= 1 ? a.toFixed(2) : a >= 0.01 ? a.toFixed(4) : a.toPrecision(3)}`;
};

function metricValue(scale: string, v: number): string {
  return scale === 'fraction' ? pct(v) : scale === 'score100' ? num(v) : num(v, 3);
}

function metricCi(scale: string, v: { value: number; lower: number; upper: number } | undefined): string {
  if (!v) return '—';
  return `${metricValue(scale, v.value)} [${metricValue(scale, v.lower)}, ${metricValue(scale, v.upper)}]`;
}

function diffText(scale: string, d: { estimate: number; lower: number; upper: number; verdict: string }): string {
  const f = (x: number) => (scale === 'fraction' ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} pt` : `${x >= 0 ? '+' : ''}${x.toFixed(2)}`);
  return `${f(d.estimate)} [${f(d.lower)}, ${f(d.upper)}] ${d.verdict.replace('_', ' ')}`;
}

function table(headers: string[], rows: string[][]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Offline

function offlineSections(r: OfflineReport) {
  const roles = r.arms.map((a) => a.role);
  const names = Object.fromEntries(r.arms.map((a) => [a.role, a.name]));
  const metricHeaders = ['metric', ...roles.filter((x) => r.metrics[0]?.arms[x]).map((x) => `${names[x]} (${x})`), ...(r.metrics[0]?.differences ?? []).map((d) => `candidate − ${d.against}`)];
  const metricRows = r.metrics.map((m) => [
    m.name,
    ...roles.filter((x) => r.metrics[0]?.arms[x]).map((x) => metricCi(m.scale, m.arms[x])),
    ...m.differences.map((d) => diffText(m.scale, d)),
  ]);
  const opsHeaders = ['arm', 'model', 'hosting', 'outputs', 'errors', 'p50', 'p95', 'p99', 'throughput/h', 'peak memory', 'cost / 1k req'];
  const opsRows = r.arms.map((a) => [
    `${a.name} (${a.role})`,
    a.modelId,
    a.hosting,
    String(a.outputs),
    String(a.errors),
    ms(a.latency?.p50InMs),
    ms(a.latency?.p95InMs),
    ms(a.latency?.p99InMs),
    a.throughput ? a.throughput.perHour.toFixed(0) : '—',
    a.memory ? `${a.memory.peakInMb.toFixed(0)} MB` : '—',
    a.cost ? `${usd(a.cost.per1000RequestsUsd)}${a.cost.estimatedTokens ? '*' : ''}` : 'unknown cost',
  ]);
  const h = r.headline;
  const headline = [
    ['quality retained (candidate / teacher)', h.qualityRetainedPercent === null ? '—' : `${h.qualityRetainedPercent.toFixed(1)}%`],
    ['p50 latency reduction vs teacher', h.latencyP50ReductionPercent === null ? '—' : `${h.latencyP50ReductionPercent.toFixed(1)}%`],
    ['cost reduction vs teacher', h.costReductionPercent === null ? '—' : `${h.costReductionPercent.toFixed(1)}%`],
    ['throughput gain vs teacher', h.throughputGain === null ? '—' : `${h.throughputGain.toFixed(1)}×`],
    ['memory reduction vs teacher', h.memoryReductionPercent === null ? '—' : `${h.memoryReductionPercent.toFixed(1)}%`],
    [
      `improvement over baseline (${h.improvementOverBaseline?.metric ?? '—'})`,
      h.improvementOverBaseline
        ? `${h.improvementOverBaseline.absolute >= 0 ? '+' : ''}${(r.metrics[0]!.scale === 'fraction' ? 100 * h.improvementOverBaseline.absolute : h.improvementOverBaseline.absolute).toFixed(2)}${r.metrics[0]!.scale === 'fraction' ? ' pt' : ''} (${signedPct(h.improvementOverBaseline.relativePercent)}), ${h.improvementOverBaseline.verdict.replace('_', ' ')}`
        : '—',
    ],
  ];
  const ni = r.nonInferiority;
  const niText =
    'meanDifference' in ni
      ? `${ni.verdict.replace('_', '-')} at δ = ${ni.margin} (basis: ${ni.basis}; mean ${ni.meanDifference.toFixed(4)}, one-sided ${(100 * (1 - ni.alpha)).toFixed(0)}% bounds [${num(ni.lowerBound, 4)}, ${num(ni.upperBound, 4)}], n = ${ni.n}, minimum ${ni.minSamples})`
      : `${ni.verdict.replace('_', ' ')}: ${ni.reason}`;
  const mc = r.mcnemar.map((m) => `candidate vs ${m.against}: b = ${m.result.b}, c = ${m.result.c}, exact p = ${m.result.pValue.toFixed(4)} → ${m.result.verdict.replace('_', ' ')}`);
  return { metricHeaders, metricRows, opsHeaders, opsRows, headline, niText, mc };
}

export function renderOfflineMarkdown(r: OfflineReport): string {
  const s = offlineSections(r);
  const out = [
    `# ${r.title}`,
    '',
    `Task \`${r.task}\` (${r.taskKind}), ${r.examples} examples, reference: ${r.referenceSource === 'gold' ? 'gold answers' : 'the teacher\'s answers (agreement)'}. ` +
      `Intervals: ${(100 * r.confidence).toFixed(0)}% paired percentile bootstrap, ${r.resamples} resamples, seed ${r.seed}; verdicts need at least ${r.minSamples} examples. ` +
      `Generated ${r.generatedAt}.`,
    '',
    '## Headline',
    '',
    table(['measure', 'value'], s.headline),
    '',
    '## Quality',
    '',
    table(s.metricHeaders, s.metricRows),
    '',
    ...s.mc.map((m) => `- McNemar (${r.primaryMetric === 'accuracy' ? 'accuracy' : 'normalized match'}), ${m}`),
    `- Non-inferiority (candidate ≥ teacher − δ): ${s.niText}`,
    ...(r.judge
      ? [
          `- Pairwise judge (both orders): ${r.judge.judged} judged, candidate wins ${r.judge.studentWins}, teacher wins ${r.judge.teacherWins}, ties ${r.judge.ties} (${r.judge.inconsistent} inconsistent), errors ${r.judge.errors}; win rate ${pct(r.judge.studentWinRate)}`,
        ]
      : []),
    '',
    '## Latency, throughput, memory and cost',
    '',
    table(s.opsHeaders, s.opsRows),
    '',
    `Percentiles: ${r.percentileDefinition}.${r.arms.some((a) => a.cost?.estimatedTokens) ? ' *Token counts estimated at 4 characters per token where usage was not recorded.' : ''}`,
    ...(r.notes.length > 0 ? ['', '## Notes', '', ...r.notes.map((n) => `- ${n}`)] : []),
    '',
  ];
  return out.join('\n');
}

export function renderOfflineTable(r: OfflineReport): string {
  const s = offlineSections(r);
  return [
    r.title,
    `${r.examples} examples · reference: ${r.referenceSource} · ${(100 * r.confidence).toFixed(0)}% bootstrap CIs (seed ${r.seed})`,
    '',
    textTable(s.metricHeaders, s.metricRows),
    '',
    textTable(s.opsHeaders, s.opsRows),
    '',
    ...s.headline.map(([k, v]) => `${k}: ${v}`),
    ...s.mc,
    `non-inferiority: ${s.niText}`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Online

/** An arm's cost per 1,000 priced calls; calls of models without a price are counted, never guessed. */
const armCost = (a: { calls: number; unpricedCalls: number; cost: { per1000RequestsUsd: number } }) =>
  a.unpricedCalls >= a.calls && a.calls > 0 ? 'unknown cost' : `${usd(a.cost.per1000RequestsUsd)}${a.unpricedCalls > 0 ? ` (${a.unpricedCalls} calls unknown cost)` : ''}`;

/** An agreement estimate as every surface prints it: `92.0% [88.1%, 94.7%] (n = 150)`. */
export function formatEstimate(e: { rate: number | null; interval: { lower: number; upper: number } | null; sufficient: boolean; n?: number }): string {
  if (e.rate === null || !e.interval) return '—';
  const n = e.n === undefined ? '' : ` (n = ${e.n})`;
  return `${pct(e.rate)} [${pct(e.interval.lower)}, ${pct(e.interval.upper)}]${n}${e.sufficient ? '' : ' (insufficient data)'}`;
}

/** The teacher-only counterfactual with its interval and how it was estimated. */
export function formatTeacherOnly(t: OnlineReport['tasks'][number]): string {
  const c = t.cost.teacherOnly;
  if (c.usd === null) return 'unknown';
  const ci = c.interval && c.interval.upper > c.interval.lower ? ` [${usd(c.interval.lower)}, ${usd(c.interval.upper)}]` : '';
  return `${usd(c.usd)}${ci} (${c.method})`;
}

function onlineRows(r: OnlineReport) {
  const headers = ['task', 'arm', 'calls', 'served', 'errors', 'p50', 'p95', 'p99', 'cost / 1k calls'];
  const rows: string[][] = [];
  for (const t of r.tasks) {
    for (const arm of ['teacher', 'student'] as const) {
      const a = t.arms[arm];
      if (!a) continue;
      rows.push([t.task, arm, String(a.calls), String(a.served), pct(a.errorRate), ms(a.latency.p50InMs), ms(a.latency.p95InMs), ms(a.latency.p99InMs), usd(a.cost.per1000RequestsUsd)]);
    }
  }
  const qHeaders = ['task', 'requests', 'student share', 'agreement by', 'student quality (random shadow)', 'escalation agreement', 'served agreement', 'chrF2', 'accuracy T / S (shadow) / served', 'McNemar p'];
  const qRows = r.tasks.map((t) => {
    const ag = t.agreement;
    const ref = t.reference;
    return [
      t.task,
      String(t.requests),
      pct(t.requests > 0 ? t.servedBy.student / t.requests : null),
      ag.definition,
      formatEstimate(ag.studentQuality),
      formatEstimate(ag.escalation),
      formatEstimate({ ...ag.served, n: ag.served.sample }),
      ag.text?.chrf ? `${num(ag.text.chrf.estimate)} [${num(ag.text.chrf.lower)}, ${num(ag.text.chrf.upper)}]` : '—',
      ref ? `${ref.pairs ? `${pct(ref.teacherAccuracy.estimate)} / ${pct(ref.studentAccuracy.estimate)}` : '— / —'} / ${ref.served ? pct(ref.served.estimate) : '—'}` : '—',
      ref && ref.pairs ? `${ref.mcnemar.pValue.toFixed(4)} (${ref.mcnemar.verdict.replace('_', ' ')})` : '—',
    ];
  });
  const cHeaders = ['task', 'cost', 'teacher-only (estimate)', 'net savings'];
  const cRows = r.tasks.map((t) => [
    t.task,
    usd(t.cost.total.totalUsd),
    formatTeacherOnly(t),
    t.cost.ledger ? `${usd(t.cost.ledger.netSavingsUsd)} (${pct(t.cost.ledger.netSavingsRatio)})` : '—',
  ]);
  return { headers, rows, qHeaders, qRows, cHeaders, cRows };
}

const ESTIMATES_NOTE =
  'Student quality: agreement with the teacher on the random shadow sample (unbiased for the student\'s traffic). ' +
  'Escalation agreement: on escalated pairs only (the student\'s hardest prompts). ' +
  'Served agreement: what users received vs what the teacher would have said, importance-weighted from the shadow sample. ' +
  'Teacher-only: observed teacher calls plus the shadow sample\'s mean teacher cost for the rest (or a per-request token estimate).';

export function renderOnlineMarkdown(r: OnlineReport): string {
  const s = onlineRows(r);
  const trend = r.tasks.flatMap((t) => [
    '',
    `### ${t.task}: trend (${ms(t.trend.bucketInMs)} buckets)`,
    '',
    table(
      ['bucket start', 'requests', 'student share', 'student quality (random shadow)', 'chrF2', 'cost'],
      t.trend.buckets.map((b) => [b.start, String(b.requests), pct(b.studentServedShare), b.agreementRate === null ? '—' : `${pct(b.agreementRate)} (n = ${b.comparable})`, num(b.chrfMean), usd(b.costUsd)]),
    ),
  ]);
  return [
    '# Online report',
    '',
    `Window ${r.window.since ?? '(start)'} → ${r.window.until ?? '(now)'}${r.filters.task ? `, task ${r.filters.task}` : ''}${r.filters.tenant ? `, tenant ${r.filters.tenant}` : ''}; ${r.totals.pairs} pairs. ` +
      `Agreement intervals: Wilson ${(100 * r.confidence).toFixed(0)}%; chrF: normal approximation. Generated ${r.generatedAt}.`,
    '',
    '## Quality and cost',
    '',
    table(s.qHeaders, s.qRows),
    '',
    table(s.cHeaders, s.cRows),
    '',
    ESTIMATES_NOTE,
    '',
    '## Arms',
    '',
    table(s.headers, s.rows),
    '',
    `Percentiles: ${r.percentileDefinition}.`,
    ...trend,
    '',
  ].join('\n');
}

export function renderOnlineTable(r: OnlineReport): string {
  const s = onlineRows(r);
  return [
    `Online report · ${r.window.since ?? '(start)'} → ${r.window.until ?? '(now)'} · ${r.totals.pairs} pairs`,
    '',
    textTable(s.qHeaders, s.qRows),
    '',
    textTable(s.cHeaders, s.cRows),
    '',
    textTable(s.headers, s.rows),
    '',
  ].join('\n');
}

export function renderReportMarkdown(report: Report): string {
  return report.kind === 'offline' ? renderOfflineMarkdown(report) : renderOnlineMarkdown(report);
}

export function renderReportTable(report: Report): string {
  return report.kind === 'offline' ? renderOfflineTable(report) : renderOnlineTable(report);
}
