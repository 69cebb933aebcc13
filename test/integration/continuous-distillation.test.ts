import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackgroundWork } from '../../src/compose/index.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { clincSubset, goldLabels } from '../fixtures/clinc150.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// The whole loop on embedded defaults: a fake teacher labels CLINC150 prompts over HTTP, traffic
// goes through the chat API, the threshold trigger fires, the job runs every step, the student
// is promoted, and later requests on unseen prompts are served by the student in agreement with
// the teacher.

const DOMAINS = ['banking', 'credit_cards', 'travel'];
const data = clincSubset(DOMAINS);
const gold = goldLabels();
let h: Harness;
let server: RunningServer;
let work: BackgroundWork;

beforeAll(async () => {
  h = await startHarness({
    teacher: {
      answer: (req) => {
        const prompt = String(req.body.messages.at(-1).content);
        return { text: gold.get(prompt) ?? 'oos', completionTokens: 2 };
      },
    },
    tasks: [
      {
        name: 'support-intents',
        teacher: 'teacher',
        student: { source: 'registry' },
        classification: { labels: data.labels, student: { epochs: 10, seed: 7 } },
        routing: { policy: { type: 'cascade', threshold: 0.4, shadowSampleRate: 1 } },
        distill: {
          threshold: { newPairs: data.train.length },
          gate: { minAgreement: 0.85, minTestExamples: 50, maxP95LatencyInMs: 50 },
          dataset: { minExamples: 500 },
        },
      },
    ],
    env: { DISTILLERY_REDISTILL_SCHEDULE: '* * * * * *' },
    compose: { studentRefreshInMs: 200 },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
  work = h.distillery.startBackgroundWork();
}, 60_000);

afterAll(async () => {
  await work?.stop();
  await server?.close();
  await h?.close();
});

async function send(prompts: readonly string[], concurrency = 16) {
  const results: { prompt: string; arm: string; answer: string }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < prompts.length) {
        const prompt = prompts[next++]!;
        const res = await fetch(`${server.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'support-intents', messages: [{ role: 'system', content: 'Classify the intent.' }, { role: 'user', content: prompt }] }),
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { choices: { message: { content: string } }[] };
        results.push({ prompt, arm: res.headers.get('x-distillery-arm')!, answer: body.choices[0]!.message.content });
      }
    }),
  );
  return results;
}

describe('continuous distillation on embedded defaults', () => {
  it('turns traffic into a promoted student that serves unseen prompts in agreement with the teacher', async () => {
    const before = await send(data.train.map((r) => r.text));
    expect(before.every((r) => r.arm === 'teacher')).toBe(true);

    // The scheduler checks every second; the threshold is the traffic we just sent.
    let job;
    const deadline = Date.now() + 90_000;
    for (;;) {
      await h.distillery.pairWriter.flush();
      for await (const j of h.distillery.jobStore.list({ task: 'support-intents' })) job = j;
      if (job && (job.state === 'succeeded' || job.state === 'failed')) break;
      if (Date.now() > deadline) throw new Error(`job did not finish: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(job!.trigger.type).toBe('threshold');
    expect(job!.state).toBe('succeeded');
    expect(job!.outcome).toBe('promoted');
    const messages = job!.log.map((l) => l.message).join('\n');
    expect(messages).toMatch(/dataset datasets\/support-intents\/support-intents\.1/);
    expect(messages).toMatch(/trained candidate support-intents@1/);
    expect(messages).toMatch(/promoted support-intents@1/);
    const promoted = await h.distillery.registry.getPromoted('support-intents');
    expect(promoted?.version).toBe(1);
    expect(promoted?.lineage).toMatchObject({ jobId: 'support-intents.1', teacherModel: 'teacher' });

    // Unseen prompts: the CLINC150 test split, never part of the traffic.
    const seen = new Set(data.train.map((r) => r.text));
    const unseen = data.test.map((r) => r.text).filter((t) => !seen.has(t));
    await new Promise((r) => setTimeout(r, 300)); // the router's refresh interval
    const after = await send(unseen);
    const byStudent = after.filter((r) => r.arm === 'student');
    const studentAgreement = byStudent.filter((r) => r.answer === gold.get(r.prompt)).length / byStudent.length;
    const overall = after.filter((r) => r.answer === gold.get(r.prompt)).length / after.length;
    console.log(JSON.stringify({ unseen: after.length, servedByStudent: byStudent.length, studentAgreement, overallAgreement: overall }));
    expect(byStudent.length / after.length).toBeGreaterThan(0.6);
    expect(studentAgreement).toBeGreaterThanOrEqual(0.9);
    expect(overall).toBeGreaterThanOrEqual(0.9);

    // A prompt the student cannot place is escalated by the cascade to the teacher.
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'support-intents', messages: [{ role: 'user', content: 'zxqv plorf wub' }] }),
    });
    expect(res.headers.get('x-distillery-arm')).toBe('teacher');
    expect(res.headers.get('x-distillery-reason')).toMatch(/escalated: confidence 0\.\d+ < 0\.4/);
    // A confident one is answered in-process by the ONNX student, with its label as the content.
    const confident = byStudent[0]!;
    expect(data.labels).toContain(confident.answer);
  }, 180_000);
});
