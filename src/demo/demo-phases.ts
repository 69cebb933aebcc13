import type { OnlineReport } from '../core/eval/online-report.js';
import { armShares, type Answer } from './demo-traffic.js';
import type { DemoTarget } from './demo-target.js';
import type { JobView } from './job-watcher.js';

// What each traffic phase of the demo turned out to be. A phase is named after the fact, by who
// answered it (the student can be promoted while traffic flows), never by what was expected.

export interface PhaseSummary {
  /** What happened: 'teacher only', 'teacher, then the new student', 'student first (cascade)', … */
  name: string;
  requests: number;
  byArm: { teacher: number; student: number };
  studentShare: number;
  /** The promoted student version when the phase began (undefined: none). */
  studentAtStart: number | undefined;
  /** 1-based position (in completion order) of the first answer the student gave, if any. */
  firstStudentAnswer: number | undefined;
}

export function summarizePhase(answers: Answer[], studentAtStart: number | undefined): PhaseSummary {
  const { teacher, student, studentShare } = armShares(answers);
  const first = answers.findIndex((a) => a.arm === 'student');
  let name: string;
  if (student === 0) name = 'teacher only';
  else if (teacher === 0) name = 'student only';
  else if (studentAtStart === undefined) name = 'teacher, then the new student';
  else name = 'student first (cascade), teacher for the rest';
  return { name, requests: answers.length, byArm: { teacher, student }, studentShare, studentAtStart, firstStudentAnswer: first >= 0 ? first + 1 : undefined };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function phaseLines(p: PhaseSummary): string[] {
  const lines = [`   Served: teacher ${p.byArm.teacher} (${pct(p.requests ? p.byArm.teacher / p.requests : 0)}), student ${p.byArm.student} (${pct(p.studentShare)}) → this phase was: ${p.name}.`];
  if (p.studentAtStart === undefined && p.firstStudentAnswer !== undefined) {
    lines.push(`   The student answered from request #${p.firstStudentAnswer} on: the job below promoted it while this traffic was still flowing.`);
  }
  return lines;
}

interface ModelList {
  data: { version: number; state: string }[];
}

/** The promoted student version of the task, if any. */
export async function promotedVersion(target: DemoTarget, task: string): Promise<number | undefined> {
  const { data } = await target.admin<ModelList>('GET', `/admin/tasks/${encodeURIComponent(task)}/models`);
  return data.find((v) => v.state === 'promoted')?.version;
}

export interface TaskSettings {
  threshold: number | undefined;
  policy: { type: string; threshold?: number };
}

export async function taskSettings(target: DemoTarget, task: string): Promise<TaskSettings> {
  const { data } = await target.admin<{ data: { name: string; distill: { threshold?: { newPairs?: number } }; routing: { policy: TaskSettings['policy'] } }[] }>('GET', '/admin/tasks');
  const t = data.find((x) => x.name === task)!;
  return { threshold: t.distill.threshold?.newPairs, policy: t.routing.policy };
}

/**
 * The online report over a window, once the server holds the pairs of every answered request
 * (written by a background writer: the last batch may land a moment after the last answer).
 */
export async function reportOnceLogged(target: DemoTarget, task: string, window: { since: string; until: string }, answered: number): Promise<OnlineReport> {
  await target.flushPairs?.();
  const route = `/admin/reports/online?task=${encodeURIComponent(task)}&since=${encodeURIComponent(window.since)}&until=${encodeURIComponent(window.until)}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const report = await target.admin<OnlineReport>('GET', route);
    if ((report.tasks[0]?.requests ?? 0) >= answered || Date.now() > deadline) return report;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The job's outcome in one line, and the gate's reasons. */
export function jobOutcomeLines(job: JobView): string[] {
  if (job.state !== 'succeeded') return [`   Outcome: ${job.state}${job.error ? ` (${job.error.message})` : ''}.`];
  const evaluation = job.steps.evaluation as { candidate?: { agreement: number; latency: { p95InMs: number } } } | undefined;
  const gate = job.steps.gate as { reasons: string[] } | undefined;
  const c = evaluation?.candidate;
  return [
    `   Outcome: ${job.outcome}.${c ? ` Test-split agreement ${c.agreement.toFixed(3)}, p95 ${c.latency.p95InMs.toFixed(2)} ms.` : ''}`,
    ...(gate?.reasons ?? []).map((r) => `     gate: ${r}`),
  ];
}
