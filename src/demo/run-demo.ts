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
import { countTeacherAgreement, driveTraffic, type Answer, type TrafficDriver } from './demo-traffic.js';

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

const seededShuffle = <T>(items: T[], seed: number): T[] => shuffleInPlace(items, createRandom(seed));

const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);

type Distillery = RunningPlatform['distillery'];
type Print = (line: string) => void;

const TASK = 'clinc150-intent';

/** Distillery on embedded defaults with the local demo teacher, in `dataDir`. */
function startDemoPlatform(dataDir: string, fast: boolean, print: Print): Promise<RunningPlatform> {
  return runServe({
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
}

/** Polls the task's latest job, printing each state change, until it succeeds or fails. */
async function waitForDistillation(d: Distillery, print: Print): Promise<JobRecord> {
  let job: JobRecord | undefined;
  let lastState = '';
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    for await (const j of d.jobStore.list({ task: TASK })) {
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
  return job;
}

function printJobOutcome(job: JobRecord, print: Print): void {
  const evaluation = job.steps.evaluation as { candidate?: { agreement: number; latency: { p95InMs: number } } } | undefined;
  const gate = job.steps.gate as { reasons: string[] } | undefined;
  print(`   Outcome: ${job.outcome}. Test-split agreement ${(evaluation?.candidate?.agreement ?? 0).toFixed(3)}, p95 ${evaluation?.candidate?.latency.p95InMs.toFixed(2)} ms.`);
  for (const r of gate?.reasons ?? []) print(`     gate: ${r}`);
}

/** The client-side figures on the unseen prompts (see `DemoResult.unseen`). */
function summarizeUnseen(answers: Answer[], agree: number): DemoResult['unseen'] {
  const acc = (xs: Answer[]) => (xs.length ? xs.filter((a) => a.answer === a.gold).length / xs.length : null);
  const byStudent = answers.filter((a) => a.arm === 'student');
  const byTeacher = answers.filter((a) => a.arm === 'teacher');
  return {
    requests: answers.length,
    servedByStudent: byStudent.length,
    studentTeacherAgreement: byStudent.length ? agree / byStudent.length : 0,
    studentTeacherComparable: byStudent.length,
    accuracy: { overall: acc(answers) ?? 0, student: acc(byStudent), teacher: acc(byTeacher) },
    latencyP50InMs: { student: median(byStudent.map((a) => a.latencyInMs)), teacher: median(byTeacher.map((a) => a.latencyInMs)) },
  };
}

function printReport(result: DemoResult, servedByTeacher: number, print: Print): void {
  const { unseen, report, platform } = result;
  const t = report.tasks[0];
  print('\n4. Report');
  print(`   Served by the student: ${unseen.servedByStudent}/${unseen.requests} (${pct(unseen.servedByStudent / unseen.requests)}); by the teacher: ${servedByTeacher}.`);
  for (const line of reportSummaryLines(report)) print(line);
  print(`   Check: the teacher asked directly on the ${unseen.servedByStudent} student-served prompts agrees with ${pct(unseen.studentTeacherAgreement)} of the student's answers.`);
  print(`   Client-side accuracy against gold labels: overall ${pct(unseen.accuracy.overall)}, student-served ${pct(unseen.accuracy.student)}, teacher-served ${pct(unseen.accuracy.teacher)}.`);
  print(`   Client-side latency p50: student ${unseen.latencyP50InMs.student?.toFixed(1)} ms, teacher ${unseen.latencyP50InMs.teacher?.toFixed(1)} ms.`);
  if (t) {
    const per1k = (usd: number | undefined) => (usd === undefined ? 'n/a' : `$${usd.toFixed(4)}`);
    print(`   Cost per 1,000 requests: ${per1k(t.cost.total.per1000RequestsUsd)} (teacher-only would be ${per1k(t.cost.teacherOnlyUsd === null ? undefined : (t.cost.teacherOnlyUsd / Math.max(1, t.requests)) * 1000)}, ${t.cost.teacherOnly.method}).`);
    if (t.cost.ledger) print(`   Savings in this window: $${t.cost.ledger.netSavingsUsd.toFixed(4)} (${pct(t.cost.ledger.netSavingsRatio)}), net of shadow and escalation calls.`);
  }
  print('');
  print(renderOnlineTable(report));
  print(`Dashboard: ${platform.url}/dashboard  (API key: ${platform.apiKey})`);
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((l: string) => console.log(l));
  const fast = options.fast ?? false;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'distillery-demo-'));
  const unseenSize = fast ? 1200 : 3000;
  const concurrency = fast ? 24 : 48;

  print('━━ Distillery demo: CLINC150 customer-support intents ━━');
  print(`Embedded defaults (SQLite, local queue, local artifacts) in ${dataDir}`);
  const platform = await startDemoPlatform(dataDir, fast, print);
  const d = platform.distillery;
  const driver: TrafficDriver = {
    client: new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: platform.apiKey!, maxRetries: 2 }),
    task: TASK,
    concurrency,
    bars: options.progressBars ?? (!fast && process.stdout.isTTY === true),
    print,
  };
  const data = readClinc150(path.join(packageRoot(), 'data'));
  const threshold = d.tasks.get(TASK)!.config.distill.threshold?.newPairs ?? 0;

  // 1. Production traffic: the teacher answers everything while no student exists.
  const trafficSize = data.train.length;
  print(`\n1. Traffic: ${trafficSize} customer messages through the chat API (openai client, ${concurrency} at a time).`);
  print(`   No student yet: the teacher answers, and every answer is logged as a training pair.`);
  const train = seededShuffle([...data.train], 42).slice(0, trafficSize);
  await driveTraffic(driver, 'teacher-only traffic', train);
  await d.pairWriter.flush();
  print(`   Pairs logged for ${TASK}: ${await d.pairStore.getCounter(TASK)} (threshold trigger at ${threshold} new pairs).`);

  // 2. The threshold trigger queues a job; the worker runs it step by step.
  print('\n2. Distillation: the threshold trigger queues a job; the worker runs it.');
  const job = await waitForDistillation(d, print);
  printJobOutcome(job, print);
  const promoted = await d.registry.getPromoted(TASK);
  await new Promise((r) => setTimeout(r, 600)); // the router's refresh interval

  // 3. Unseen prompts: the cascade serves confident answers from the student in-process.
  const since = new Date().toISOString();
  const policy = d.tasks.get(TASK)!.config.routing.policy;
  print(`\n3. A/B on ${unseenSize} unseen prompts (CLINC150 test split): student first, teacher below confidence ${policy.type === 'cascade' ? (policy as { threshold: number }).threshold : '?'}.`);
  const unseenRows = seededShuffle([...data.test], 7).slice(0, unseenSize);
  const answers = await driveTraffic(driver, 'unseen prompts', unseenRows);
  await d.pairWriter.flush();

  const byStudent = answers.filter((a) => a.arm === 'student');
  const agree = await countTeacherAgreement(d.models.teacher(d.tasks.get(TASK)!.config), byStudent, concurrency);
  const report = await buildOnlineReport(d.pairStore.list({ task: TASK, since }), { pricing: d.pricing, task: TASK, since, now: Date.now() });
  const result: DemoResult = { platform, job, promotedVersion: promoted?.version, unseen: summarizeUnseen(answers, agree), report };
  printReport(result, answers.filter((a) => a.arm === 'teacher').length, print);
  return result;
}
