import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { createOpenAIModel } from '../../src/adapters/openai/create-openai-model.js';
import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import { modelSettingsSchema } from '../../src/core/chat/model-settings.js';
import type { DatasetExample } from '../../src/core/distill/dataset-builder.js';
import { resolveGate } from '../../src/core/distill/distill-settings.js';
import { datasetPathOf } from '../../src/core/distill/job-failure.js';
import { stage2Steps } from '../../src/core/distill/stage2-steps.js';
import { measureTeacherSelfAgreement } from '../../src/core/distill/teacher-self-agreement.js';
import { createRandom } from '../../src/core/eval/random.js';
import { scoreRouge } from '../../src/core/eval/rouge.js';
import type { ChatModel, JobRecord } from '../../src/core/ports.js';
import { taskRuntime } from '../../src/core/tasks/task-catalog.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// Issue #16: a generative gate's bar "set from the teacher's own variance". The fake teacher
// summarizes each text with one of several paraphrases drawn at random, as a sampled LLM does;
// the bar is factor × the mean ROUGE-L of its second answer against its first on a few prompts.

const PARAPHRASES = (topic: string) => [
  `The report says ${topic} grew strongly this year.`,
  `${topic} grew strongly this year, according to the report.`,
  `According to the report, this year saw strong growth in ${topic}.`,
  `This year ${topic} expanded a lot, the report says.`,
];
const TOPICS = ['exports', 'rainfall', 'enrolment', 'traffic', 'wages', 'tourism', 'housing', 'energy use', 'crime', 'savings'];
const topicOf = (body: any) => TOPICS.find((t) => JSON.stringify(body.messages).includes(t))!;

const dirs: string[] = [];
const servers: FakeOpenAIServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A teacher that samples: each answer a random paraphrase; `answers` logs them per topic. */
async function samplingTeacher(seed: number) {
  const random = createRandom(seed);
  const answers = new Map<string, string[]>();
  const server = await startFakeOpenAIServer({
    model: 'teacher-llm',
    answer: (req) => {
      const topic = topicOf(req.body);
      const options = PARAPHRASES(topic);
      const text = options[Math.floor(random() * options.length)]!;
      answers.set(topic, [...(answers.get(topic) ?? []), text]);
      return { text };
    },
  });
  servers.push(server);
  const model = createOpenAIModel('teacher-llm', modelSettingsSchema.parse({ provider: 'openai', baseURL: server.baseURL, auth: 'none' }), { env: {} });
  return { model, answers, server };
}

const examples: DatasetExample[] = TOPICS.map((topic, i) => ({
  id: `p${i}`,
  promptHash: `h${i}`,
  split: 'test',
  messages: [{ role: 'user', content: `Summarize: a long article about ${topic} and why it grew.` }],
  target: PARAPHRASES(topic)[0]!,
  createdAt: '2025-01-01T00:00:00.000Z',
}));

describe("a generative gate set from the teacher's self-agreement", () => {
  it('measures factor × the mean ROUGE-L of two teacher samples on the first prompts', async () => {
    const teacher = await samplingTeacher(7);
    const gate = resolveGate({ taskType: 'summarization', nonInferiorityMargin: 0.02, alpha: 0.05, minTestExamples: 5 } as never, { labelled: false, hosting: 'remote' });
    const r = (await measureTeacherSelfAgreement({ teacher: teacher.model, gate, test: examples, samples: 6, factor: 0.9 }))!;
    expect(teacher.server.requests).toHaveLength(12);
    const expected = TOPICS.slice(0, 6).map((t) => {
      const [a, b] = teacher.answers.get(t)!;
      return scoreRouge(a!, b!, ['rougeL']).rougeL!.fmeasure; // F is symmetric: arrival order does not matter
    });
    const mean = expected.reduce((s, v) => s + v, 0) / expected.length;
    expect(r).toMatchObject({ metric: 'rougeL', n: 6, factor: 0.9, failed: 0 });
    expect(r.selfAgreement).toBeCloseTo(mean, 3);
    expect(r.minAgreement).toBeCloseTo(0.9 * mean, 3);
    // Random paraphrases: clearly below 1 and clearly above the 0.3 default.
    expect(r.selfAgreement).toBeGreaterThan(0.3);
    expect(r.selfAgreement).toBeLessThan(1);
  });

  it('the evaluation step gates on the calibrated bar and saves it in the job record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distillery-selfagree-'));
    dirs.push(dir);
    const artifacts = new FsArtifactStore({ root: join(dir, 'artifacts') });
    const registry = new SqliteModelRegistry({ path: join(dir, 'registry.db') });
    const teacher = await samplingTeacher(11);
    // The student always gives the first paraphrase: exactly the stored teacher target.
    const studentServer = await startFakeOpenAIServer({ model: 'student-ft', answer: (req) => ({ text: PARAPHRASES(topicOf(req.body))[0]! }) });
    servers.push(studentServer);
    const student: ChatModel = createOpenAIModel('student-ft', modelSettingsSchema.parse({ provider: 'openai', baseURL: studentServer.baseURL, auth: 'none' }), { env: {} });

    const run = async (jobId: string, gate: Record<string, unknown>) => {
      const task = taskRuntime(taskSchema.parse({ name: 'digest', teacher: 'teacher-llm', distill: { gate: { taskType: 'summarization', minTestExamples: 5, ...gate } } }));
      const job = { id: jobId, task: 'digest', kind: 'redistill', state: 'evaluating', trigger: { type: 'manual' }, progress: 0.8, createdAt: '', updatedAt: '', steps: {}, log: [] } as JobRecord;
      await artifacts.upsert(`${datasetPathOf(job)}/examples.jsonl`, examples.map((e) => JSON.stringify(e)).join('\n') + '\n');
      await registry.create({ task: 'digest', kind: 'remote', endpoint: { baseURL: studentServer.baseURL, model: 'student-ft' }, lineage: { jobId } } as never);
      const steps = stage2Steps(
        { pairs: undefined as never, artifacts, registry, trainers: {}, loadStudent: async () => student, teacherModelId: () => 'teacher-llm', teacher: () => teacher.model, now: () => new Date().toISOString() },
        { datasetIdOf: () => undefined },
        0,
      );
      const evaluating = steps.find((s) => s.state === 'evaluating')!;
      return evaluating.run(job, task, { progress: async () => undefined }) as Promise<{ steps: { evaluation: any; gate: { promote: boolean; reasons: string[] } } }>;
    };

    const calibrated = await run('job-cal', { calibrateFromTeacher: { samples: 5 } });
    const g = calibrated.steps.evaluation.gate;
    expect(g.minAgreementFrom).toBe('teacher-self-agreement');
    expect(g.teacherSelfAgreement).toMatchObject({ metric: 'rougeL', n: 5, factor: 0.9, failed: 0 });
    expect(g.minAgreement).toBe(g.teacherSelfAgreement.minAgreement);
    expect(g.minAgreement).toBeGreaterThan(0.3);
    expect(teacher.server.requests).toHaveLength(10);
    expect(calibrated.steps.gate.promote).toBe(true);
    expect(calibrated.steps.gate.reasons[0]).toContain(`≥ ${g.minAgreement}`);

    // A configured bar wins: no teacher calls, the bar is the configured one.
    const configured = await run('job-conf', { calibrateFromTeacher: { samples: 5 }, minAgreement: 0.5 });
    expect(configured.steps.evaluation.gate).toMatchObject({ minAgreement: 0.5, minAgreementFrom: 'configured-or-default' });
    expect(configured.steps.evaluation.gate.teacherSelfAgreement).toBeUndefined();
    expect(teacher.server.requests).toHaveLength(10);
    await registry.close();
  });
});
