import { SingleBar, Presets } from 'cli-progress';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { buildOnlineReport, type OnlineReport } from '../core/eval/online-report.js';
import { createRandom, shuffleInPlace } from '../core/eval/random.js';
import { renderOnlineTable } from '../core/eval/report-format.js';
import { reportSummaryLines } from './demo-summary.js';
import type { JobRecord } from '../core/ports.js';
import { packageRoot } from '../package-root.js';
import { runServe, type RunningPlatform } from '../serve-command.js';
import { readClinc150 } from '../adapters/onnx/demo-teacher.js';

// `npm run demo` / `distillery demo`: the whole loop on one machine, in minutes. It starts
// Distillery on embedded defaults with the local demo teacher, drives CLINC150 customer-support
// traffic through the chat API with the official openai client, watches the threshold trigger
// start a distillation job and the job advance step by step, then sends unseen prompts and
// prints the A/B report: agreement, accuracy against gold labels, latency per arm, cost per
// 1,000 requests, savings.

export interface DemoOptions {
  /** CI mode: small teacher latency, fewer prompts, no interactive progress bars, exit at the end. */
  fast?: boolean;
  /** Keep serving after the report (the dashboard stays up) until Ctrl-C. */
  keepServing?: boolean;
  dataDir?: string;
  print?: (line: string) => void;
  progressBars?: boolean;
}

export interface DemoResult {
  platform: RunningPlatform;
  job: JobRecord;
  promotedVersion: number | undefined;
  unseen: {
    requests: number;
    servedByStudent: number;
    /**
     * A client-side check, not the report's estimate: student-served answers equal to the teacher's
     * on the same prompts (teacher asked separately). The summary prints the report's estimates.
     */
    studentTeacherAgreement: number;
    studentTeacherComparable: number;
    accuracy: { overall: number; student: number | null; teacher: number | null };
    latencyP50InMs: Record<string, number>;
  };
  report: OnlineReport;
}

interface Answer {
  prompt: string;
  gold: string;
  arm: string;
  answer: string;
  latencyInMs: number;
}

const seededShuffle = <T>(items: T[], seed: number): T[] => shuffleInPlace(items, createRandom(seed));

const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((l: string) => console.log(l));
  const fast = options.fast ?? false;
  const bars = options.progressBars ?? (!fast && process.stdout.isTTY === true);
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'distillery-demo-'));
  const unseenSize = fast ? 1200 : 3000;
  const concurrency = fast ? 24 : 48;

  print('━━ Distillery demo: CLINC150 customer-support intents ━━');
  print(`Embedded defaults (SQLite, local queue, local artifacts) in ${dataDir}`);
  const platform = await runServe({
    env: {
      ...process.env,
      DISTILLERY_DATA_DIR: dataDir,
      DISTILLERY_PORT: '0',
      DISTILLERY_API_KEYS: '',
      DISTILLERY_CONFIG_FILE: path.join(packageRoot(), 'data', 'distillery.config.json'),
      DISTILLERY_CONFIG_JSON: '',
      DISTILLERY_STORE: 'sqlite',
      DISTILLERY_QUEUE: 'local',
      DISTILLERY_ARTIFACTS: 'fs',
      // Check the triggers every 2 s so the demo does not wait for the production cadence.
      DISTILLERY_REDISTILL_SCHEDULE: '*/2 * * * * *',
      DISTILLERY_DEMO_TEACHER_LATENCY_MS: fast ? '5' : '250',
      DISTILLERY_WORKER: 'true',
    },
    embedded: true,
    quiet: true,
    compose: { studentRefreshInMs: 500 },
    print,
  });
  const d = platform.distillery;
  const task = 'clinc150-intent';
  const client = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: platform.apiKey!, maxRetries: 2 });
  const data = readClinc150(path.join(packageRoot(), 'data'));
  const threshold = d.tasks.get(task)!.config.distill.threshold?.newPairs ?? 0;

  async function drive(label: string, rows: { text: string; label: string }[]): Promise<Answer[]> {
    const out: Answer[] = [];
    const bar = bars ? new SingleBar({ format: `${label.padEnd(24)} {bar} {value}/{total}  {arms}`, hideCursor: true }, Presets.shades_classic) : undefined;
    bar?.start(rows.length, 0, { arms: '' });
    let next = 0;
    let lastLine = 0;
    const counts: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < rows.length) {
          const row = rows[next++]!;
          const t0 = performance.now();
          const { data: completion, response } = await client.chat.completions
            .create({ model: task, messages: [{ role: 'system', content: 'Reply with the intent of the customer message.' }, { role: 'user', content: row.text }], user: `customer-${out.length % 500}` })
            .withResponse();
          const arm = response.headers.get('x-distillery-arm') ?? '?';
          counts[arm] = (counts[arm] ?? 0) + 1;
          out.push({ prompt: row.text, gold: row.label, arm, answer: completion.choices[0]?.message.content ?? '', latencyInMs: performance.now() - t0 });
          bar?.update(out.length, { arms: Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join('  ') });
          if (!bar && out.length - lastLine >= Math.ceil(rows.length / 4)) {
            lastLine = out.length;
            print(`  ${label}: ${out.length}/${rows.length}  (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')})`);
          }
        }
      }),
    );
    bar?.stop();
    return out;
  }

  // 1. Production traffic: the teacher answers everything while no student exists.
  const trafficSize = data.train.length;
  print(`\n1. Traffic: ${trafficSize} customer messages through the chat API (openai client, ${concurrency} at a time).`);
  print(`   No student yet: the teacher answers, and every answer is logged as a training pair.`);
  const train = seededShuffle([...data.train], 42).slice(0, trafficSize);
  await drive('teacher-only traffic', train);
  await d.pairWriter.flush();
  print(`   Pairs logged for ${task}: ${await d.pairStore.getCounter(task)} (threshold trigger at ${threshold} new pairs).`);

  // 2. The threshold trigger queues a job; the worker runs it step by step.
  print('\n2. Distillation: the threshold trigger queues a job; the worker runs it.');
  let job: JobRecord | undefined;
  let lastState = '';
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    for await (const j of d.jobStore.list({ task })) {
      job = j;
      break;
    }
    if (job && job.state !== lastState) {
      lastState = job.state;
      const last = job.log.at(-1);
      print(`   ${job.id}  ${job.state.padEnd(17)} ${Math.round(job.progress * 100).toString().padStart(3)}%  ${last ? last.message : ''}`);
    }
    if (job && (job.state === 'succeeded' || job.state === 'failed')) break;
    if (Date.now() > deadline) throw new Error('The distillation job did not finish within 10 minutes.');
    await new Promise((r) => setTimeout(r, 200));
  }
  if (job.state === 'failed') throw new Error(`Distillation failed: ${job.error?.message}`);
  const evaluation = job.steps.evaluation as { candidate?: { agreement: number; latency: { p95InMs: number } } } | undefined;
  const gate = job.steps.gate as { reasons: string[] } | undefined;
  print(`   Outcome: ${job.outcome}. Test-split agreement ${(evaluation?.candidate?.agreement ?? 0).toFixed(3)}, p95 ${evaluation?.candidate?.latency.p95InMs.toFixed(2)} ms.`);
  for (const r of gate?.reasons ?? []) print(`     gate: ${r}`);
  const promoted = await d.registry.getPromoted(task);
  await new Promise((r) => setTimeout(r, 600)); // the router's refresh interval

  // 3. Unseen prompts: the cascade serves confident answers from the student in-process.
  const since = new Date().toISOString();
  print(`\n3. A/B on ${unseenSize} unseen prompts (CLINC150 test split): student first, teacher below confidence ${d.tasks.get(task)!.config.routing.policy.type === 'cascade' ? (d.tasks.get(task)!.config.routing.policy as { threshold: number }).threshold : '?'}.`);
  const unseenRows = seededShuffle([...data.test], 7).slice(0, unseenSize);
  const answers = await drive('unseen prompts', unseenRows);
  await d.pairWriter.flush();

  // Agreement with the teacher on the same unseen prompts: ask the teacher model directly (the
  // evaluation, not traffic), for every prompt the student answered.
  const teacher = d.models.teacher(d.tasks.get(task)!.config);
  const byStudent = answers.filter((a) => a.arm === 'student');
  let agree = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < byStudent.length) {
        const a = byStudent[next++]!;
        const t = await teacher.generate({ messages: [{ role: 'user', content: a.prompt }] });
        if (t.text.trim() === a.answer.trim()) agree++;
      }
    }),
  );
  const acc = (xs: Answer[]) => (xs.length ? xs.filter((a) => a.answer === a.gold).length / xs.length : null);
  const byTeacher = answers.filter((a) => a.arm === 'teacher');
  const report = await buildOnlineReport(d.pairStore.list({ task, since }), { pricing: d.pricing, task, since, now: Date.now() });
  const result: DemoResult = {
    platform,
    job,
    promotedVersion: promoted?.version,
    unseen: {
      requests: answers.length,
      servedByStudent: byStudent.length,
      studentTeacherAgreement: byStudent.length ? agree / byStudent.length : 0,
      studentTeacherComparable: byStudent.length,
      accuracy: { overall: acc(answers) ?? 0, student: acc(byStudent), teacher: acc(byTeacher) },
      latencyP50InMs: { student: median(byStudent.map((a) => a.latencyInMs)), teacher: median(byTeacher.map((a) => a.latencyInMs)) },
    },
    report,
  };

  const t = report.tasks[0];
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  print('\n4. Report');
  print(`   Served by the student: ${byStudent.length}/${answers.length} (${pct(byStudent.length / answers.length)}); by the teacher: ${byTeacher.length}.`);
  for (const line of reportSummaryLines(report)) print(line);
  print(`   Check: the teacher asked directly on the ${byStudent.length} student-served prompts agrees with ${pct(result.unseen.studentTeacherAgreement)} of the student's answers.`);
  print(`   Client-side accuracy against gold labels: overall ${pct(result.unseen.accuracy.overall)}, student-served ${pct(result.unseen.accuracy.student)}, teacher-served ${pct(result.unseen.accuracy.teacher)}.`);
  print(`   Client-side latency p50: student ${result.unseen.latencyP50InMs.student?.toFixed(1)} ms, teacher ${result.unseen.latencyP50InMs.teacher?.toFixed(1)} ms.`);
  if (t) {
    const per1k = (usd: number | undefined) => (usd === undefined ? 'n/a' : `$${usd.toFixed(4)}`);
    print(`   Cost per 1,000 requests: ${per1k(t.cost.total.per1000RequestsUsd)} (teacher-only would be ${per1k(t.cost.teacherOnlyUsd === null ? undefined : (t.cost.teacherOnlyUsd / Math.max(1, t.requests)) * 1000)}, ${t.cost.teacherOnly.method}).`);
    if (t.cost.ledger) print(`   Savings in this window: $${t.cost.ledger.netSavingsUsd.toFixed(4)} (${pct(t.cost.ledger.netSavingsRatio)}), net of shadow and escalation calls.`);
  }
  print('');
  print(renderOnlineTable(report));
  print(`Dashboard: ${platform.url}/dashboard  (API key: ${platform.apiKey})`);
  return result;
}
