import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { createOpenAIModel } from '../../src/adapters/openai/create-openai-model.js';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import { modelSettingsSchema } from '../../src/core/chat/model-settings.js';
import type { DatasetExample } from '../../src/core/distill/dataset-builder.js';
import { datasetPathOf } from '../../src/core/distill/job-failure.js';
import { JobRunner } from '../../src/core/distill/job-runner.js';
import { redistillationPipeline } from '../../src/core/distill/redistillation-pipeline.js';
import { systemClock, type JobRecord, type ModelRegistry } from '../../src/core/ports.js';
import { taskRuntime } from '../../src/core/tasks/task-catalog.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// The teacher-variance gate asks the teacher 2 × samples times. A job message redelivered after
// the measurement (here: the registry fails while promoting) must not pay for it again: the
// evaluation step saves the measurement on the job record and the next delivery reuses it.

const TOPICS = ['exports', 'rainfall', 'enrolment', 'traffic', 'wages', 'tourism'];
const PARAPHRASES = (topic: string) => [`The report says ${topic} grew strongly this year.`, `According to the report, this year saw strong growth in ${topic}.`];
const topicOf = (body: any) => TOPICS.find((t) => JSON.stringify(body.messages).includes(t))!;

const dirs: string[] = [];
const servers: FakeOpenAIServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('teacher self-agreement on a redelivered job message', () => {
  it('is measured once per job: the second delivery makes no teacher calls and gates on the saved bar', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distillery-selfagree-redeliver-'));
    dirs.push(dir);
    let teacherCalls = 0;
    const teacherServer = await startFakeOpenAIServer({
      model: 'teacher-llm',
      answer: (req) => ({ text: PARAPHRASES(topicOf(req.body))[teacherCalls++ % 2]! }),
    });
    const studentServer = await startFakeOpenAIServer({ model: 'student-ft', answer: (req) => ({ text: PARAPHRASES(topicOf(req.body))[0]! }) });
    servers.push(teacherServer, studentServer);
    const remote = (model: string, baseURL: string) => createOpenAIModel(model, modelSettingsSchema.parse({ provider: 'openai', baseURL, auth: 'none' }), { env: {} });
    const teacher = remote('teacher-llm', teacherServer.baseURL);
    const student = remote('student-ft', studentServer.baseURL);

    const jobs = new SqliteJobStore({ path: join(dir, 'jobs.db') });
    const sqliteRegistry = new SqliteModelRegistry({ path: join(dir, 'registry.db') });
    const artifacts = new FsArtifactStore({ root: join(dir, 'artifacts') });
    // The registry is down once, right when the gate has decided: the step fails after the measurement.
    let promoteFailures = 1;
    const registry = new Proxy(sqliteRegistry, {
      get(target, key) {
        if (key === 'promote') {
          return (task: string, version: number) => (promoteFailures-- > 0 ? Promise.reject(new Error('registry unavailable')) : target.promote(task, version));
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as ModelRegistry;

    const task = taskRuntime(
      taskSchema.parse({ name: 'digest', teacher: 'teacher-llm', distill: { gate: { taskType: 'summarization', minTestExamples: 5, calibrateFromTeacher: { samples: 5 } } } }),
    );
    const now = new Date().toISOString();
    const job = { id: 'job-redeliver', task: 'digest', kind: 'redistill', state: 'evaluating', trigger: { type: 'manual' }, progress: 0.8, createdAt: now, updatedAt: now, steps: {}, log: [] } as JobRecord;
    const examples: DatasetExample[] = TOPICS.map((topic, i) => ({
      id: `p${i}`,
      promptHash: `h${i}`,
      split: 'test',
      messages: [{ role: 'user', content: `Summarize: a long article about ${topic}.` }],
      target: PARAPHRASES(topic)[0]!,
      createdAt: now,
    }));
    await artifacts.upsert(`${datasetPathOf(job)}/examples.jsonl`, examples.map((e) => JSON.stringify(e)).join('\n') + '\n');
    await sqliteRegistry.create({ task: 'digest', kind: 'remote', endpoint: { baseURL: studentServer.baseURL, model: 'student-ft' }, lineage: { jobId: job.id } } as never);
    await jobs.create(job);

    const runner = new JobRunner({
      jobs,
      clock: systemClock,
      pipelines: {
        redistill: redistillationPipeline({
          tasks: { get: (name) => (name === 'digest' ? task : undefined) },
          pairs: undefined as never,
          artifacts,
          registry,
          trainers: {},
          loadStudent: async () => student,
          teacherModelId: () => 'teacher-llm',
          teacher: () => teacher,
          now: () => new Date().toISOString(),
        }),
      },
    });

    await expect(runner.run(job.id, { deliveryCount: 1 })).rejects.toThrow('registry unavailable');
    expect(teacherCalls).toBe(10);
    const afterFirst = (await jobs.get(job.id))!;
    expect(afterFirst.state).toBe('evaluating');
    expect(afterFirst.steps.teacherSelfAgreement).toMatchObject({ metric: 'rougeL', n: 5, factor: 0.9, failed: 0 });

    const done = (await runner.run(job.id, { deliveryCount: 2 }))!;
    expect(teacherCalls).toBe(10); // no teacher call on the second delivery
    expect(teacherServer.requests).toHaveLength(10);
    expect(done.state).toBe('succeeded');
    expect(done.outcome).toBe('promoted');
    const gate = (done.steps.evaluation as { gate: { minAgreementFrom: string; minAgreement: number; teacherSelfAgreement: unknown } }).gate;
    expect(gate.minAgreementFrom).toBe('teacher-self-agreement');
    expect(gate.teacherSelfAgreement).toEqual(afterFirst.steps.teacherSelfAgreement);
    expect(gate.minAgreement).toBe(afterFirst.steps.teacherSelfAgreement!.minAgreement);
    await jobs.close();
    await sqliteRegistry.close();
  }, 60_000);
});
