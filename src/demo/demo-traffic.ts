import type OpenAI from 'openai';
import type { ChatModel } from '../core/ports.js';
import type { DemoOutput } from './demo-output.js';

// The demo's client side: customer messages sent through the chat API with the official openai
// client (a fixed number in flight, as a real client pool would), and the check that asks the
// teacher directly on the prompts the student served.

export interface Answer {
  prompt: string;
  gold: string;
  arm: string;
  answer: string;
  latencyInMs: number;
}

export interface TrafficDriver {
  client: OpenAI;
  task: string;
  concurrency: number;
  /** Progress bars on a terminal; otherwise a progress line every quarter. */
  out: DemoOutput;
}

const armCounts = (counts: Record<string, number>, separator: string, joiner: string) =>
  Object.entries(counts).map(([k, v]) => `${k}${separator}${v}`).join(joiner);

export async function driveTraffic(driver: TrafficDriver, label: string, rows: { text: string; label: string }[]): Promise<Answer[]> {
  const { client, task, concurrency } = driver;
  const out: Answer[] = [];
  const bar = driver.out.bar(label, rows.length);
  let next = 0;
  let lastLine = 0;
  const counts: Record<string, number> = {};
  try {
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
          bar?.update(out.length, { arms: armCounts(counts, ': ', '  ') });
          if (!bar && out.length - lastLine >= Math.ceil(rows.length / 4)) {
            lastLine = out.length;
            driver.out.line(`   ${label}: ${out.length}/${rows.length}  (${armCounts(counts, ' ', ', ')})`);
          }
        }
      }),
    );
  } finally {
    bar?.stop();
  }
  return out;
}

/** Answers per arm, and the arm's share of all answers. */
export function armShares(answers: Answer[]): { teacher: number; student: number; studentShare: number } {
  const student = answers.filter((a) => a.arm === 'student').length;
  const teacher = answers.filter((a) => a.arm === 'teacher').length;
  return { teacher, student, studentShare: answers.length ? student / answers.length : 0 };
}

/**
 * How many student-served answers equal the teacher's own answer to the same prompt. The teacher is
 * asked directly (an evaluation, not traffic), so these calls are not logged as pairs.
 */
export async function countTeacherAgreement(teacher: ChatModel, byStudent: Answer[], concurrency: number): Promise<number> {
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
  return agree;
}
