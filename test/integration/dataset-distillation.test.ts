import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BackgroundWork } from '../../src/compose/index.js';
import { AzureOpenAIFineTuningTrainer, createFineTuningClient } from '../../src/adapters/openai/azure-openai-fine-tuning-trainer.js';
import { ServiceBusJobQueue } from '../../src/adapters/service-bus/service-bus-job-queue.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { modelSettingsSchema } from '../../src/core/chat/model-settings.js';
import { dispatchReceived } from '../../src/core/distill/job-messages.js';
import type { JobRecord, JobQueueSubscription, ReceivedJobMessage } from '../../src/core/ports.js';
import { clincSubset, goldLabels } from '../fixtures/clinc150.js';
import { allPairs, KEYS, startHarness, type Harness, followDistillation } from '../fixtures/distillery-harness.js';
import { FaultyPairStore } from '../fixtures/faulty-pair-store.js';
import { startFakeFineTuningServer, type FakeFineTuningServer } from '../fixtures/fake-fine-tuning-server.js';
import { startFakeOpenAIServer, type Fault, type FakeOpenAIServer, type FakeRequest } from '../fixtures/fake-openai-server.js';

// Distillation jobs from a dataset, end to end through the admin API: stage 1 fanned out as queue
// chunks answered by a fake teacher over HTTP, stage 2 on the embedded pipeline, a report that
// compares student, teacher and baseline. Then the same over the Service Bus broker with several
// workers and one killed mid-chunk, a teacher failing 40% of the examples, and a throttling one.

const data = clincSubset(['banking', 'credit_cards']);
const gold = goldLabels();
const toJsonl = (rows: readonly { text: string; label: string }[]) => rows.map((r) => JSON.stringify({ prompt: r.text, label: r.label })).join('\n');
const userText = (req: FakeRequest) => String([...req.body.messages].reverse().find((m: { role: string }) => m.role === 'user')?.content ?? '');

/** Teacher behaviour, switched per test (the tests of a file run one after another). */
let fault: (req: FakeRequest, index: number) => Fault | Fault[] | undefined = () => undefined;

async function submit(h: Harness, spec: Record<string, unknown>) {
  const res = await h.distillery.app.request('/admin/distillations', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Progress values seen while following jobs in the `generating` state. */
const generatingProgress: number[] = [];

const follow = (h: Harness, id: string, timeoutInMs = 120_000) =>
  followDistillation(h, id, {
    timeoutInMs,
    onView: (view, status) => {
      expect(status).toBe(200);
      if (view.status === 'generating') generatingProgress.push(view.progress);
    },
  });

function baseSpec(task: string, train: readonly { text: string; label: string }[], validation?: readonly { text: string; label: string }[]) {
  return {
    task,
    teacher: 'teacher',
    task_type: 'classification',
    labels: data.labels,
    student: { kind: 'onnx-classifier' },
    training_data: toJsonl(train),
    ...(validation ? { validation_data: { jsonl: toJsonl(validation) } } : {}),
    hyperparameters: { num_epochs: 8, learning_rate: 1, temperature: 2 },
    chunk_size: 500,
    concurrency: 8,
    retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 5_000 },
    gate: { minAgreement: 0.8, minTestExamples: 50, maxP95LatencyInMs: 50 },
  };
}

describe('dataset distillation on embedded defaults', () => {
  let h: Harness;
  let work: BackgroundWork;

  beforeAll(async () => {
    h = await startHarness({
      teacher: {
        model: 'DeepSeek-V3',
        answer: (req) => {
          const label = gold.get(userText(req)) ?? 'unknown';
          // Asked for logprobs, the teacher puts 0.9 on its label and 0.1 on a runner-up.
          const other = data.labels[(data.labels.indexOf(label) + 1) % data.labels.length]!;
          const top = [{ token: label, logprob: Math.log(0.9) }, { token: other, logprob: Math.log(0.1) }];
          return { text: label, completionTokens: 3, logprobs: [{ token: label, logprob: Math.log(0.9), top_logprobs: top }] };
        },
        fault: (req, i) => fault(req, i),
      },
      tasks: [],
      // A breaker tuned for traffic would turn the 40%-failure teacher into a dead one.
      teacherSettings: { circuitBreaker: { failureThreshold: 1000, cooldownInMs: 0 } },
      // A pair store whose writes can be turned off; chunk messages get two deliveries.
      compose: { pairStore: new FaultyPairStore(new SqlitePairStore({ path: ':memory:' })) },
      env: { DISTILLERY_JOB_MAX_DELIVERIES: '2' },
    });
    work = h.distillery.startBackgroundWork({ worker: true, scheduler: false });
  }, 60_000);

  afterAll(async () => {
    await work?.stop();
    await h?.close();
  });

  it('runs a spec of a few thousand rows end to end: promoted student and a report against teacher and baseline', async () => {
    fault = () => undefined;
    const spec = { ...baseSpec('intents', data.train, data.test), teacher_settings: { soft_labels: true } };
    const { status, body } = await submit(h, spec);
    expect(status).toBe(201);
    expect(body).toMatchObject({ object: 'distillation.job', id: 'intents.1', kind: 'dataset', status: 'queued', trigger: { type: 'spec' } });
    // The stored spec references the uploaded file, not the rows.
    expect(body.spec.training_data.path).toMatch(/^tenants\/tenant-a\/distillations\/uploads\//);

    const view = await follow(h, body.id);
    expect(view.status, JSON.stringify(view.log)).toBe('succeeded');
    expect(view.outcome, JSON.stringify(view.gate)).toBe('promoted');
    expect(view.progress).toBe(1);
    const rows = data.train.length + data.test.length;
    expect(rows).toBeGreaterThan(3000);
    expect(view.stage1).toMatchObject({ chunks: Math.ceil(rows / 500), examples: rows, ok: rows, failed: 0, successRatio: 1, minSuccessRatio: 0.7 });
    expect(view.stage1.costUsd).toBeGreaterThan(0); // DeepSeek-V3 is in the pricing table

    // Stage 2 used the spec's splits: the validation rows are the held-out test set.
    const dataset = h.distillery.artifacts;
    const manifest = JSON.parse(new TextDecoder().decode((await dataset.get('datasets/intents/intents.1/manifest.json'))!));
    expect(manifest.counts.test).toBe(data.test.length);
    expect(manifest.source.datasetId).toBe('intents.1');
    // Soft labels: the student trains on the teacher's distribution (the KD temperature applies to it).
    const examples = new TextDecoder().decode((await dataset.get('datasets/intents/intents.1/examples.jsonl'))!).trim().split('\n').map((l) => JSON.parse(l));
    expect(examples.every((e) => e.teacherDistribution?.[e.label] > 0)).toBe(true);
    // (A first token that begins several labels, like credit_limit / credit_limit_change, splits its mass.)
    const exact = examples.filter((e) => Math.abs(e.teacherDistribution[e.label] - 0.9) < 1e-9).length;
    expect(exact / examples.length).toBeGreaterThan(0.8);
    expect(h.teacher.requests.at(-1)!.body).toMatchObject({ logprobs: true, top_logprobs: 5 });

    const r = view.report;
    expect(r.testExamples).toBe(data.test.length);
    expect(r.goldReferences).toBe(data.test.length);
    expect(r.baseline.kind).toBe('majority-class');
    expect(r.teacher.vsGold.accuracy).toBe(1);
    expect(r.student.vsGold.accuracy).toBeGreaterThan(0.82); // ~0.88 in runs here
    expect(r.baseline.vsGold.accuracy).toBeLessThan(0.1);
    expect(r.summary.improvementOverBaseline).toBeGreaterThan(0.75);
    expect(r.summary.teacherQualityKept).toBeGreaterThan(0.82);
    expect(r.student.latency.p50InMs).toBeLessThan(r.teacher.latency.p50InMs);

    const promoted = await h.distillery.registry.getPromoted('intents');
    expect(promoted?.lineage).toMatchObject({ jobId: 'intents.1', teacherModel: 'teacher' });

    // One pair per example, tagged with its dataset, split and gold reference.
    const pairs = await allPairs(h.distillery, 'intents');
    expect(pairs).toHaveLength(rows);
    expect(new Set(pairs.map((p) => p.id)).size).toBe(rows);
    const sample = pairs.find((p) => p.source.split === 'validation')!;
    expect(sample.id).toBe(`intents.1:${sample.source.exampleId}`);
    expect(sample.source).toMatchObject({ kind: 'dataset', datasetId: 'intents.1' });
    expect(sample.source.reference).toBe(gold.get(String(sample.request.messages.at(-1)!.content)));
    expect(sample.request.params).toEqual({ temperature: 0.2, top_p: 0.1, max_tokens: 128 });
    // Azure ML's teacher defaults went over the wire.
    expect(h.teacher.requests.at(-1)!.body).toMatchObject({ temperature: 0.2, top_p: 0.1, max_tokens: 128 });
  }, 180_000);

  it('refuses a bad spec with a typed 400 and an unknown job with 404', async () => {
    const bad = await submit(h, { ...baseSpec('bad', data.train.slice(0, 5)), training_data: '{"prompt": "ok"}\n{oops' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_dataset_row', param: 'training_data' });
    expect(bad.body.error.message).toMatch(/line 2/);
    const noTeacher = await submit(h, { task_type: 'nli', training_data: '{"prompt":"x"}' });
    expect(noTeacher.status).toBe(400);
    expect(noTeacher.body.error.param).toBe('teacher');
    const res = await h.distillery.app.request('/admin/distillations/nope.1', { headers: { authorization: `Bearer ${KEYS.admin}` } });
    expect(res.status).toBe(404);
    const list = await h.distillery.app.request('/admin/distillations', { headers: { authorization: `Bearer ${KEYS.admin}` } });
    expect(((await list.json()) as any).data.map((j: any) => [j.id, j.status])).toEqual([['intents.1', 'succeeded']]);
    const anonymous = await h.distillery.app.request('/admin/distillations/intents.1');
    expect(anonymous.status).toBe(401);
  });

  it('stops with the success-ratio report when the teacher fails 40% of the examples', async () => {
    const rows = data.train.filter((_, i) => i % 10 === 0); // 300 rows
    const failing = new Set(rows.filter((_, i) => i % 5 < 2).map((r) => r.text));
    fault = (req) => (failing.has(userText(req)) ? { kind: 'status', status: 500, message: 'teacher overloaded' } : undefined);
    const { status, body } = await submit(h, { ...baseSpec('flaky', rows), chunk_size: 100 });
    expect(status).toBe(201);
    const view = await follow(h, body.id);
    expect(view.status).toBe('failed');
    expect(view.error.code).toBe('teacher_success_ratio_too_low');
    expect(view.error.message).toMatch(/answered \d+ of 300 examples usably \(success ratio 0\.\d+ < min_success_ratio 0\.7\)/);
    // Chunks stop early once the floor is out of reach (`floor_unreachable`), so how many of the
    // 180 answerable examples were asked depends on which chunk finished first; the rest holds.
    const { ok, failed, errors, retries } = view.stage1 as { ok: number; failed: number; errors: Record<string, number>; retries: number };
    expect(ok + failed).toBe(300);
    expect(ok).toBeLessThanOrEqual(180);
    expect(errors.upstream_error).toBeGreaterThan(0);
    expect(errors.upstream_error).toBeLessThanOrEqual(120);
    expect((errors.upstream_error ?? 0) + (errors.floor_unreachable ?? 0)).toBe(failed);
    // Each failing example was retried (max_attempts 3) before it counted as failed (an early stop
    // may cut the retries of examples then in flight).
    expect(retries).toBeGreaterThanOrEqual(2 * errors.upstream_error!);
    expect(retries).toBeLessThanOrEqual(2 * failed);
    expect(await h.distillery.registry.getPromoted('flaky')).toBeUndefined();
  }, 60_000);

  it('is slowed, not failed, by a teacher answering 429 with retry-after', async () => {
    const rows = data.train.filter((_, i) => i % 15 === 1); // 200 rows
    let throttledCalls = 0;
    const started = Date.now();
    generatingProgress.length = 0;
    fault = () => {
      // The first 30 calls are refused with retry-after: 1 s.
      if (throttledCalls < 30) {
        throttledCalls++;
        return { kind: 'status', status: 429, retryAfter: '1', message: 'Rate limit is exceeded. Try again in 1 seconds.' };
      }
      return undefined;
    };
    const { body } = await submit(h, { ...baseSpec('throttled', rows), chunk_size: 100, gate: { minTestExamples: 1, minAgreement: 0 } });
    const view = await follow(h, body.id);
    expect(view.status, JSON.stringify(view.error)).toBe('succeeded');
    expect(view.stage1).toMatchObject({ examples: 200, ok: 200, failed: 0, successRatio: 1 });
    expect(view.stage1.throttled).toBeGreaterThanOrEqual(1);
    expect(view.stage1.retries).toBeGreaterThanOrEqual(view.stage1.throttled);
    // The retry-after was honoured: stage 1 took at least the second it was asked to wait.
    expect(Math.max(...view.stage1.chunkDurationsInMs)).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // While the chunks ran, GET showed the job generating, with progress moving inside stage 1's share.
    expect(generatingProgress.length).toBeGreaterThan(0);
    expect(Math.min(...generatingProgress)).toBeGreaterThanOrEqual(0.05);
    expect(Math.max(...generatingProgress)).toBeLessThanOrEqual(0.4);
    expect(generatingProgress).toEqual([...generatingProgress].sort((a, b) => a - b));
  }, 60_000);

  it('counts a chunk that fails on every delivery as failed instead of waiting for it forever', async () => {
    fault = () => undefined;
    const rows = data.train.filter((_, i) => i % 30 === 2); // 100 rows, 4 chunks
    const pairs = h.distillery.pairStore as FaultyPairStore;
    pairs.down = true;
    try {
      const { body } = await submit(h, { ...baseSpec('store-down', rows), chunk_size: 25, retry: { max_attempts: 1, base_delay_ms: 0, max_delay_ms: 0 } });
      const view = await follow(h, body.id, 60_000);
      expect(view.status).toBe('failed');
      expect(view.error.code).toBe('teacher_success_ratio_too_low');
      expect(view.stage1).toMatchObject({ chunks: 4, examples: 100, ok: 0, failed: 100 });
      // A chunk was tried on both of its deliveries (DISTILLERY_JOB_MAX_DELIVERIES=2), then given up;
      // once the success floor was out of reach the later chunks stopped without asking (#15 row 6).
      const errors = view.stage1.errors as Record<string, number>;
      expect(errors.chunk_failed).toBeGreaterThanOrEqual(25);
      expect((errors.chunk_failed ?? 0) + (errors.floor_unreachable ?? 0)).toBe(100);
      expect(pairs.failedWrites).toBeGreaterThanOrEqual(2);
    } finally {
      pairs.down = false;
    }
  }, 60_000);
});

describe('dataset distillation over Service Bus (and Blob Storage) with several workers', () => {
  let h: Harness;
  const subs: JobQueueSubscription[] = [];
  const queues: ServiceBusJobQueue[] = [];
  const queueName = `dataset-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    h = await startHarness({
      teacher: {
        model: 'gpt-4o-2024-08-06',
        // The victim chunk's answers after its first 30 wait until its worker is killed: the kill
        // always lands mid-chunk, after answers were saved, however loaded the machine is (#15 row 9).
        answer: async (req) => {
          const text = userText(req);
          if (victim && !victim.killed.settled && victim.texts.has(text) && ++victim.asked > 30) await victim.killed.promise;
          return { text: gold.get(text) ?? 'unknown', completionTokens: 3 };
        },
        fault: () => ({ kind: 'delay', ms: 15 }),
      },
      teacherSettings: { timeoutInMs: 120_000 },
      tasks: [],
      env: {
        DISTILLERY_QUEUE: 'servicebus',
        ServiceBusConnection: inject('serviceBusConnectionString'),
        DISTILLERY_JOBS_QUEUE: queueName,
        DISTILLERY_JOB_MAX_DELIVERIES: '10',
        // Chunks, plans and results live in Blob Storage (Azurite), as they would in Azure.
        DISTILLERY_ARTIFACTS: 'blob',
        ArtifactStorage: inject('azuriteConnectionString'),
        DISTILLERY_ARTIFACT_CONTAINER: `dataset-${randomUUID().slice(0, 8)}`,
      },
    });
  }, 60_000);

  afterAll(async () => {
    for (const s of subs) await s.close();
    for (const q of queues) await q.close();
    await h?.close();
  });

  let victim: { texts: Set<string>; asked: number; killed: ReturnType<typeof deferred> } | undefined;
  const deferred = () => {
    let resolve!: () => void;
    const d = { settled: false, promise: new Promise<void>((r) => (resolve = r)), resolve: () => ((d.settled = true), resolve()) };
    return d;
  };

  it('fans chunks out to concurrent workers; killing one mid-chunk loses and duplicates nothing', async () => {
    const rows = data.train.filter((_, i) => i % 3 === 0); // 1000 rows
    const validation = data.test.filter((_, i) => i % 2 === 0); // 450 rows
    const total = rows.length + validation.length;
    const dispatch = dispatchReceived(h.distillery.dispatchJobMessage);
    const spans: { worker: string; chunk: number; start: number; end?: number; outcome?: string }[] = [];
    let killed: { worker: string; chunk: number } | undefined;
    const worker = (name: string) => {
      let sub: JobQueueSubscription | undefined = undefined;
      const handler = async (m: ReceivedJobMessage, o: { abortSignal?: AbortSignal }) => {
        const span: (typeof spans)[number] = { worker: name, chunk: Number(m.body.chunk ?? -1), start: Date.now() };
        if (m.body.kind === 'stage1-chunk') spans.push(span);
        // The first worker to take a chunk dies once some of its answers are stored: its
        // subscription closes, its calls abort.
        if (m.body.kind === 'stage1-chunk' && !killed) {
          killed = { worker: name, chunk: span.chunk };
          const chunk = JSON.parse(new TextDecoder().decode((await h.distillery.artifacts.get(`distillations/${m.body.jobId}/chunks/${span.chunk}.json`))!)) as { rows: { id: string; messages: { role: string; content: string }[] }[] };
          const ids = new Set(chunk.rows.map((r) => r.id));
          victim = { texts: new Set(chunk.rows.map((r) => userText({ body: { messages: r.messages } } as FakeRequest))), asked: 0, killed: deferred() };
          void (async () => {
            while ((await allPairs(h.distillery, 'sb-intents')).filter((p) => ids.has(String(p.source.exampleId))).length < 25) await new Promise((r) => setTimeout(r, 25));
            await sub!.close();
            victim!.killed.resolve();
          })();
        }
        try {
          await dispatch(m, o);
          span.outcome = 'done';
        } catch (err) {
          span.outcome = `threw ${(err as Error).name}`;
          throw err;
        } finally {
          span.end = Date.now();
        }
      };
      // Each worker has its own connection, as separate Function instances would.
      const queue = new ServiceBusJobQueue({ connectionString: inject('serviceBusConnectionString'), queueName, maxDeliveryCount: 10 });
      queues.push(queue);
      sub = queue.subscribe(handler, { maxConcurrentCalls: 1 });
      subs.push(sub);
    };
    worker('A');
    worker('B');
    worker('C');
    const { status, body } = await submit(h, {
      ...baseSpec('sb-intents', rows, validation),
      // This teacher gives no logprobs: hard labels only, so a KD temperature is refused (#17 row 5).
      hyperparameters: { num_epochs: 8, learning_rate: 1 },
      chunk_size: 200,
      concurrency: 4,
      // A third of the training rows (~33 per intent): this test is about the fan-out, the gate is looser.
      gate: { minAgreement: 0.7, minTestExamples: 50, maxP95LatencyInMs: 50 },
    });
    expect(status).toBe(201);
    const view = await follow(h, body.id, 150_000);
    expect(view.status, JSON.stringify(view.error ?? view.log)).toBe('succeeded');
    expect(view.outcome, JSON.stringify(view.gate)).toBe('promoted');

    // The victim was killed in the middle of a chunk; another worker finished it, reusing its answers.
    expect(killed).toBeDefined();
    const killedSpan = spans.find((s) => s.worker === killed!.worker && s.chunk === killed!.chunk)!;
    expect(killedSpan.outcome).not.toBe('done');
    const rerun = spans.find((s) => s.worker !== killed!.worker && s.chunk === killed!.chunk && s.outcome === 'done');
    expect(rerun).toBeDefined();
    const results = await Promise.all(
      Array.from({ length: view.stage1.chunks }, async (_, i) => JSON.parse(new TextDecoder().decode((await h.distillery.artifacts.get(`distillations/${body.id}/results/${i}.json`))!))),
    );
    expect(results[killed!.chunk].reused).toBeGreaterThan(0);

    // More than one worker ran chunks, and at the same time.
    const byWorker = new Set(spans.filter((s) => s.outcome === 'done').map((s) => s.worker));
    expect(byWorker.size).toBeGreaterThanOrEqual(2);
    const done = spans.filter((s) => s.outcome === 'done');
    const overlapping = done.some((a) => done.some((b) => a.worker !== b.worker && a.start < b.end! && b.start < a.end!));
    expect(overlapping).toBe(true);

    // Nothing lost, nothing duplicated.
    expect(view.stage1).toMatchObject({ examples: total, ok: total, failed: 0 });
    const pairs = await allPairs(h.distillery, 'sb-intents');
    expect(pairs).toHaveLength(total);
    expect(new Set(pairs.map((p) => p.source.exampleId)).size).toBe(total);
    // Only the calls in flight when the victim died were asked twice (plus the preflight's sample).
    expect(h.teacher.requests.length).toBeLessThanOrEqual(total + 4 + 1);
    const job = (await h.distillery.jobStore.get(body.id)) as JobRecord;
    expect(job.state).toBe('succeeded');
  }, 180_000);
});

describe('a generative (math) dataset job with a remote student fine-tuned on Azure OpenAI', () => {
  let h: Harness;
  let ft: FakeFineTuningServer;
  let work: BackgroundWork;
  let judgeServer: FakeOpenAIServer;

  // GSM8K-shaped word problems; the teacher reasons, then writes '#### <answer>'.
  const problems = Array.from({ length: 190 }, (_, i) => {
    const a = 3 + ((i * 7) % 40);
    const b = 2 + ((i * 11) % 30);
    const names = ['Tom', 'Ana', 'Lee', 'Mia', 'Raj'];
    return { question: `${names[i % 5]} has ${a} marbles and wins ${b} more in game ${i}. How many marbles does ${names[i % 5]} have now?`, a, b, answer: a + b };
  });
  const byQuestion = new Map(problems.map((p) => [p.question, p]));

  beforeAll(async () => {
    ft = await startFakeFineTuningServer({ apiKey: 'ft-key' });
    // A judge that prefers whichever answer ends in the right number, and calls it a tie otherwise.
    judgeServer = await startFakeOpenAIServer({
      answer: (req) => {
        const prompt = userText(req);
        const p = byQuestion.get(/\[User Question\]\n([^\n]*)/.exec(prompt)?.[1] ?? '');
        const a = /Assistant A's Answer\]\n([\s\S]*?)\n\[The End of Assistant A/.exec(prompt)?.[1] ?? '';
        const b = /Assistant B's Answer\]\n([\s\S]*?)\n\[The End of Assistant B/.exec(prompt)?.[1] ?? '';
        const ok = (t: string) => p !== undefined && t.trim().endsWith(`#### ${p.answer}`);
        return { text: ok(a) === ok(b) ? 'Equally good. [[C]]' : ok(a) ? 'A is right. [[A]]' : 'B is right. [[B]]' };
      },
    });
    const ftBase = { provider: 'azure-openai', endpoint: ft.azureEndpoint, deployment: 'unused', apiVersion: '2024-10-21', apiKeySetting: 'FT_API_KEY', auth: 'key', maxRetries: 0, timeoutInMs: 5_000 };
    const trainer = new AzureOpenAIFineTuningTrainer({
      client: createFineTuningClient(modelSettingsSchema.parse(ftBase), { env: { FT_API_KEY: 'ft-key' } }),
      modelRef: 'ft-base',
      pollIntervalInMs: 5,
    });
    h = await startHarness({
      teacher: {
        answer: (req) => {
          const p = byQuestion.get(userText(req));
          return { text: p ? `It starts with ${p.a} marbles and gains ${p.b}, so ${p.a} + ${p.b} = ${p.answer}.\n#### ${p.answer}` : 'I cannot tell.' };
        },
      },
      // The harness's `student` server echoes the question: the un-distilled base model.
      models: { 'ft-base': ftBase, judge: { provider: 'openai', baseURL: judgeServer.baseURL, model: 'judge', auth: 'none', maxRetries: 0, timeoutInMs: 5_000 } },
      env: { FT_API_KEY: 'ft-key' },
      tasks: [],
      compose: { trainers: { 'azure-openai': trainer } },
    });
    work = h.distillery.startBackgroundWork({ worker: true, scheduler: false });
  }, 60_000);

  afterAll(async () => {
    await work?.stop();
    await h?.close();
    await ft?.close();
    await judgeServer?.close();
  });

  it('keeps the reasoning as the training target and reports exact match for student, teacher and base model', async () => {
    const jsonl = (ps: typeof problems) => ps.map((p) => JSON.stringify({ question: p.question, answer: `#### ${p.answer}` })).join('\n');
    const { status, body } = await submit(h, {
      task: 'marbles',
      teacher: 'teacher',
      task_type: 'math',
      student: { kind: 'remote', baseModel: 'gpt-4o-mini-2024-07-18', modelRef: 'ft-base', baseline: 'student' },
      training_data: jsonl(problems.slice(0, 150)),
      validation_data: jsonl(problems.slice(150)),
      hyperparameters: { num_epochs: 2, batch_size: 2 },
      teacher_settings: { inference_parameters: { max_tokens: 256 } },
      gate: { minAgreement: 0.3, minTestExamples: 10, maxP95LatencyInMs: 5_000 },
      judge: 'judge',
      judge_sample: 20,
    });
    expect(status, JSON.stringify(body)).toBe(201);
    const view = await follow(h, body.id, 60_000);
    expect(view.status, JSON.stringify(view.error ?? view.log)).toBe('succeeded');

    // The generative student learns the teacher's reasoning, not only the number.
    const train = new TextDecoder().decode((await h.distillery.artifacts.get(`datasets/marbles/${body.id}/train.jsonl`))!);
    const first = JSON.parse(train.split('\n')[0]!);
    expect(first.messages.at(-1)).toMatchObject({ role: 'assistant', content: expect.stringMatching(/^It starts with \d+ marbles[\s\S]*\n#### \d+$/) });
    expect(first.messages[0].content).toMatch(/#### <number>/);
    expect(ft.jobs[0]!.hyperparameters).toMatchObject({ n_epochs: 2, batch_size: 2 });

    const r = view.report;
    expect(r.taskType).toBe('math');
    expect(r.testExamples).toBe(40);
    expect(r.mainMetric).toBe('exactMatch (vs gold)');
    expect(r.teacher.vsGold.exactMatch).toBe(1);
    expect(r.baseline).toMatchObject({ kind: 'base-model', model: 'student' });
    expect(r.baseline.vsGold.exactMatch).toBeLessThan(0.2); // echoing the question is not solving it
    expect(r.student.vsGold.exactMatch).toBeGreaterThanOrEqual(0);
    expect(r.student.vsGold.exactMatch).toBeLessThanOrEqual(1);
    expect(r.summary.improvementOverBaseline).toBeCloseTo(r.student.vsGold.exactMatch - r.baseline.vsGold.exactMatch, 10);
    // The judge saw 20 pairs in both orders: it never prefers a student whose number is wrong.
    expect(r.judge).toMatchObject({ model: 'judge', judged: 20, errors: 0, studentWins: 0 });
    expect(r.judge.teacherWins + r.judge.ties).toBe(20);
    // (The fake service's fine-tuned model recalls the nearest training answer, so it mostly gets the number wrong.)
    const studentRight = Math.round(r.student.vsGold.exactMatch * 40);
    expect(r.judge.teacherWins).toBeGreaterThanOrEqual(20 - studentRight);
    const version = await h.distillery.registry.get('marbles', 1);
    expect(version).toMatchObject({ kind: 'remote', endpoint: { modelRef: 'ft-base' } });
  }, 150_000);
});
