import path from 'node:path';
import OpenAI from 'openai';
import type { OnlineReport } from '../core/eval/online-report.js';
import { createRandom, shuffleInPlace } from '../core/eval/random.js';
import { renderOnlineTable } from '../core/eval/report-format.js';
import { packageRoot } from '../package-root.js';
import { readClinc150 } from '../adapters/onnx/demo-teacher.js';
import { reportSummaryLines, tableFootnotes } from './demo-summary.js';
import { DemoOutput, type Print } from './demo-output.js';
import { jobOutcomeLines, phaseLines, promotedVersion, reportOnceLogged, summarizePhase, taskSettings, type PhaseSummary } from './demo-phases.js';
import { DEMO_TASK, resolveDemoTarget, type DemoTarget } from './demo-target.js';
import { countTeacherAgreement, driveTraffic, type Answer, type TrafficDriver } from './demo-traffic.js';
import { JobWatcher, type JobView } from './job-watcher.js';

// `npm run demo` / `distillery demo`: the whole loop, in minutes. It drives the Distillery already
// running (npm start: its console then shows the demo) or, when none answers, starts one of its
// own (embedded defaults, local demo teacher, temporary folder deleted at the end). It sends
// CLINC150 customer-support traffic through the chat API with the official openai client, prints
// the distillation job's states as it advances, sends unseen prompts and prints the A/B report:
// agreement, accuracy against gold labels, latency per arm, cost per 1,000 requests, savings.
// Each traffic phase is named by who actually answered it.

export interface DemoOptions {
  /** CI mode: small teacher latency, fewer prompts, no interactive progress bars. */
  fast?: boolean;
  /** The Distillery to drive (default http://127.0.0.1:8787), and whether the user chose it. */
  url?: string;
  urlGiven?: boolean;
  /** An admin key of that Distillery (its operator key). */
  key?: string;
  /** Start a Distillery of its own even when one is running. */
  own?: boolean;
  /** Own server: delete its temporary folder on Ctrl-C and exit (the CLI). */
  handleSignals?: boolean;
  dataDir?: string;
  print?: Print;
  progressBars?: boolean;
  /** Messages in the first phase (default: enough to cross the threshold, at most the train split). */
  trafficSize?: number;
  /** Unseen prompts in the A/B phase (default 3,000; 1,200 when fast). */
  unseenSize?: number;
}

export interface DemoResult {
  target: DemoTarget;
  /** The job the demo watched (undefined if none ran). */
  job: JobView | undefined;
  /** The states the job was seen in, in order. */
  jobStates: string[];
  promotedVersion: number | undefined;
  phases: { traffic: PhaseSummary; unseen: PhaseSummary };
  unseen: {
    requests: number;
    servedByStudent: number;
    /**
     * A client-side check, not the report's estimate: student-served answers equal to the teacher's
     * on the same prompts (teacher asked separately). Only with a server of its own (null otherwise).
     */
    studentTeacherAgreement: number | null;
    studentTeacherComparable: number;
    accuracy: { overall: number; student: number | null; teacher: number | null };
    latencyP50InMs: Record<string, number>;
  };
  report: OnlineReport;
  /** Stops the demo's own server and deletes its temporary folder (nothing for a running server). */
  close(): Promise<void>;
}

const seededShuffle = <T>(items: T[], seed: number): T[] => shuffleInPlace(items, createRandom(seed));

const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The client-side figures on the unseen prompts (see `DemoResult.unseen`). */
function summarizeUnseen(answers: Answer[], agree: number | null): DemoResult['unseen'] {
  const acc = (xs: Answer[]) => (xs.length ? xs.filter((a) => a.answer === a.gold).length / xs.length : null);
  const byStudent = answers.filter((a) => a.arm === 'student');
  const byTeacher = answers.filter((a) => a.arm === 'teacher');
  return {
    requests: answers.length,
    servedByStudent: byStudent.length,
    studentTeacherAgreement: agree === null ? null : byStudent.length ? agree / byStudent.length : 0,
    studentTeacherComparable: byStudent.length,
    accuracy: { overall: acc(answers) ?? 0, student: acc(byStudent), teacher: acc(byTeacher) },
    latencyP50InMs: { student: median(byStudent.map((a) => a.latencyInMs)), teacher: median(byTeacher.map((a) => a.latencyInMs)) },
  };
}

function printReport(result: Omit<DemoResult, 'close'>, out: DemoOutput): void {
  const { unseen, report, target } = result;
  const t = report.tasks[0];
  out.line('\n4. Report (the unseen prompts only)');
  out.line(`   Served by the student: ${unseen.servedByStudent}/${unseen.requests} (${pct(unseen.servedByStudent / unseen.requests)}); by the teacher: ${unseen.requests - unseen.servedByStudent}.`);
  for (const line of reportSummaryLines(report)) out.line(line);
  if (unseen.studentTeacherAgreement === null) out.line('   (No direct teacher check: the teacher sits behind the running server; the estimates above come from its shadow sample.)');
  else out.line(`   Check: the teacher asked directly on the ${unseen.servedByStudent} student-served prompts agrees with ${pct(unseen.studentTeacherAgreement)} of the student's answers.`);
  out.line(`   Client-side accuracy against gold labels: overall ${pct(unseen.accuracy.overall)}, student-served ${pct(unseen.accuracy.student)}, teacher-served ${pct(unseen.accuracy.teacher)}.`);
  out.line(`   Client-side latency p50: student ${unseen.latencyP50InMs.student?.toFixed(1)} ms, teacher ${unseen.latencyP50InMs.teacher?.toFixed(1)} ms.`);
  if (t) {
    const per1k = (usd: number | undefined) => (usd === undefined ? 'n/a' : `$${usd.toFixed(4)}`);
    out.line(`   Cost per 1,000 requests: ${per1k(t.cost.total.per1000RequestsUsd)} (teacher-only would be ${per1k(t.cost.teacherOnlyUsd === null ? undefined : (t.cost.teacherOnlyUsd / Math.max(1, t.requests)) * 1000)}, ${t.cost.teacherOnly.method}).`);
    if (t.cost.ledger) out.line(`   Savings in this window: $${t.cost.ledger.netSavingsUsd.toFixed(4)} (${pct(t.cost.ledger.netSavingsRatio)}), net of shadow and escalation calls.`);
  }
  out.line('');
  const table = renderOnlineTable(report);
  out.line(table);
  for (const note of tableFootnotes()) out.line(note);
  out.line(`Console: ${target.url}/console${target.own ? `  (API key: ${target.apiKey})` : ''}`);
}

interface Run {
  target: DemoTarget;
  out: DemoOutput;
  driver: TrafficDriver;
  watcher: JobWatcher;
  fast: boolean;
}

/** Phase 1: customer traffic, enough to cross the threshold trigger. */
async function trafficPhase(run: Run, rows: { text: string; label: string }[], threshold: number | undefined): Promise<PhaseSummary> {
  const { out, driver, target } = run;
  const studentAtStart = await promotedVersion(target, DEMO_TASK);
  out.line(`\n1. Traffic: ${rows.length} customer messages through the chat API (openai client, ${driver.concurrency} at a time); threshold trigger at ${threshold ?? '—'} new pairs.`);
  out.line(
    studentAtStart === undefined
      ? '   No student is promoted yet: the teacher answers, and every answer is logged as a training pair.'
      : `   Student v${studentAtStart} is promoted already: it answers what it is confident about; the teacher answers the rest and a shadow sample.`,
  );
  const answers = await driveTraffic(driver, 'traffic', rows);
  const phase = summarizePhase(answers, studentAtStart);
  for (const line of phaseLines(phase)) out.line(line);
  return phase;
}

/** Phase 2: the job the threshold trigger started (or, past its schedule, a manual one) to its end. */
async function distillationPhase(run: Run): Promise<JobView | undefined> {
  const { out, watcher, target } = run;
  out.line('\n2. Distillation: the threshold trigger queues a job; the worker runs it (build dataset → train → evaluate → gate).');
  const deadline = Date.now() + 15_000;
  while (!watcher.newJobs().length && Date.now() < deadline) await watcher.poll().then(() => sleep(300));
  if (!watcher.newJobs().length) {
    out.line('   No job yet: the server checks its triggers on its own schedule (DISTILLERY_REDISTILL_SCHEDULE, every 5 minutes by default).');
    out.line('   The demo asks for one now through the admin API (a manual trigger) rather than wait.');
    await target.admin('POST', `/admin/tasks/${encodeURIComponent(DEMO_TASK)}/distill`);
    await watcher.poll();
  }
  const first = watcher.newJobs()[0];
  if (!first) {
    out.line('   No job was started.');
    return undefined;
  }
  const job = await watcher.waitForEnd(first.id, 15 * 60_000);
  for (const line of jobOutcomeLines(job)) out.line(line);
  if (job.state === 'failed') throw new Error(`Distillation failed: ${job.error?.message}`);
  return job;
}

/** Phase 3: unseen prompts through whatever serves now, and the report of that window. */
async function unseenPhase(run: Run, rows: { text: string; label: string }[]) {
  const { out, driver, target } = run;
  const studentAtStart = await promotedVersion(target, DEMO_TASK);
  const { policy } = await taskSettings(target, DEMO_TASK);
  out.line(`\n3. A/B on ${rows.length} unseen prompts (CLINC150 test split), routing: ${policy.type}${policy.threshold !== undefined ? ` (student first, teacher below confidence ${policy.threshold})` : ''}.`);
  out.line(studentAtStart === undefined ? '   No student is promoted: the teacher answers.' : `   Serving: student v${studentAtStart} in-process, the teacher behind it.`);
  const since = new Date().toISOString();
  const answers = await driveTraffic(driver, 'unseen prompts', rows);
  const until = new Date().toISOString();
  const phase = summarizePhase(answers, studentAtStart);
  for (const line of phaseLines(phase)) out.line(line);
  const report = await reportOnceLogged(target, DEMO_TASK, { since, until }, answers.length);
  const byStudent = answers.filter((a) => a.arm === 'student');
  const agree = target.teacher ? await countTeacherAgreement(target.teacher, byStudent, driver.concurrency) : null;
  return { phase, answers, report, agree, studentAtStart };
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((l: string) => console.log(l));
  const fast = options.fast ?? false;
  print('━━ Distillery demo: CLINC150 customer-support intents ━━');
  const target = await resolveDemoTarget({ ...options, print, fast });
  try {
    return await runPhases(target, options, print, fast);
  } catch (err) {
    await target.close();
    throw err;
  }
}

async function runPhases(target: DemoTarget, options: DemoOptions, print: Print, fast: boolean): Promise<DemoResult> {
  const out = new DemoOutput(print, options.progressBars ?? (!fast && process.stdout.isTTY === true));
  const concurrency = fast ? 24 : 48;
  const driver: TrafficDriver = { client: new OpenAI({ baseURL: `${target.url}/v1`, apiKey: target.apiKey, maxRetries: 2 }), task: DEMO_TASK, concurrency, out };
  const watcher = new JobWatcher(target, DEMO_TASK, out);
  await watcher.start();
  const run: Run = { target, out, driver, watcher, fast };
  try {
    const data = readClinc150(path.join(packageRoot(), 'data'));
    const { threshold } = await taskSettings(target, DEMO_TASK);
    // Enough traffic to cross the threshold (5% over it), at most the whole train split.
    const trafficSize = Math.min(data.train.length, options.trafficSize ?? (threshold ? Math.ceil(threshold * 1.05) : data.train.length));
    const traffic = await trafficPhase(run, seededShuffle([...data.train], 42).slice(0, trafficSize), threshold);
    const job = await distillationPhase(run);
    watcher.stop();
    // The router picks a newly promoted student up on its refresh interval (2 s by default).
    if (job?.outcome === 'promoted') await sleep(target.own ? 700 : 2_500);
    const unseenRows = seededShuffle([...data.test], 7).slice(0, options.unseenSize ?? (fast ? 1200 : 3000));
    const u = await unseenPhase(run, unseenRows);
    const result = {
      target,
      job,
      jobStates: job ? (watcher.states.get(job.id) ?? []) : [],
      promotedVersion: u.studentAtStart,
      phases: { traffic, unseen: u.phase },
      unseen: summarizeUnseen(u.answers, u.agree),
      report: u.report,
    };
    printReport(result, out);
    return { ...result, close: () => target.close() };
  } finally {
    watcher.stop();
  }
}
