import { HttpRequest, InvocationContext } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeDistillery, getDistillery } from '../../src/function-app-instance.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { clincSubset, goldLabels } from '../fixtures/clinc150.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// The distillation loop as it runs in Azure, through the exported Functions handlers: the HTTP
// trigger takes the traffic, the timer trigger queues the job on Service Bus (the rhea broker
// fixture, real @azure/service-bus client), the Service Bus trigger — emulated here by receiving
// with the SDK and calling the handler, as the Functions host does — runs each step, with pairs,
// jobs and models in Cosmos DB (cosmosdb-server) and artifacts in Blob Storage (Azurite).

const KEY = 'dk-functions-azure';
const data = clincSubset(['banking', 'credit_cards']);
const gold = goldLabels();
let teacher: FakeOpenAIServer;
let dir: string;
const saved: Record<string, string | undefined> = {};
let fn: {
  httpApi: typeof import('../../functions/http-api.js').httpApi;
  redistillTimer: typeof import('../../functions/redistill-timer.js').redistillTimer;
  distillWorker: typeof import('../../functions/distill-worker.js').distillWorker;
};
const queueName = `jobs-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  teacher = await startFakeOpenAIServer({ model: 'gpt-4o', answer: (req) => ({ text: gold.get(String(req.body.messages.at(-1).content)) ?? 'oos' }) });
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-fn-azure-'));
  const env: Record<string, string> = {
    DISTILLERY_DATA_DIR: dir,
    DISTILLERY_STORE: 'cosmos',
    CosmosDb: `AccountEndpoint=${inject('cosmosEndpoint')};AccountKey=${inject('cosmosKey')};`,
    DISTILLERY_COSMOS_DATABASE: `fn-${randomUUID().slice(0, 8)}`,
    DISTILLERY_QUEUE: 'servicebus',
    ServiceBusConnection: inject('serviceBusConnectionString'),
    DISTILLERY_JOBS_QUEUE: queueName,
    DISTILLERY_ARTIFACTS: 'blob',
    ArtifactStorage: inject('azuriteConnectionString'),
    DISTILLERY_ARTIFACT_CONTAINER: `fn-${randomUUID().slice(0, 8)}`,
    DISTILLERY_API_KEYS: JSON.stringify([{ tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(KEY) }]),
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: { teacher: { baseURL: teacher.baseURL, auth: 'none', maxRetries: 0 } },
      tasks: [
        {
          name: 'bank-intents',
          teacher: 'teacher',
          student: { source: 'registry' },
          classification: { labels: data.labels, student: { epochs: 8 } },
          routing: { policy: { type: 'cascade', threshold: 0.4 } },
          distill: { threshold: { newPairs: 1500 }, dataset: { minExamples: 200 }, gate: { minAgreement: 0.85, minTestExamples: 50 } },
        },
      ],
    }),
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  fn = {
    httpApi: (await import('../../functions/http-api.js')).httpApi,
    redistillTimer: (await import('../../functions/redistill-timer.js')).redistillTimer,
    distillWorker: (await import('../../functions/distill-worker.js')).distillWorker,
  };
}, 60_000);

afterAll(async () => {
  await closeDistillery();
  await teacher?.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function chat(prompt: string) {
  const res = await fn.httpApi(
    new HttpRequest({
      method: 'POST',
      url: 'http://localhost:7071/v1/chat/completions',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: { string: JSON.stringify({ model: 'bank-intents', messages: [{ role: 'user', content: prompt }] }) },
    }),
    new InvocationContext({ functionName: 'http-api' }),
  );
  const body = JSON.parse(await new Response(res.body as ConstructorParameters<typeof Response>[0]).text());
  return { status: res.status, arm: (res.headers as Record<string, string>)['x-distillery-arm'], answer: body.choices?.[0]?.message?.content as string };
}

describe('distillation through the Functions handlers on Azure adapters', () => {
  it('traffic → timer trigger → Service Bus job steps → promoted student served', async () => {
    const prompts = data.train.map((r) => r.text).slice(0, 1600);
    for (let i = 0; i < prompts.length; i += 16) {
      const batch = await Promise.all(prompts.slice(i, i + 16).map(chat));
      for (const r of batch) expect(r.status).toBe(200);
    }
    const distillery = await getDistillery();
    await distillery.pairWriter.flush();

    const ctx = new InvocationContext({ functionName: 'redistill-timer' });
    await fn.redistillTimer({ isPastDue: false, scheduleStatus: { last: new Date(Date.now() - 60_000).toISOString(), next: '', lastUpdated: '' } } as never, ctx);

    // The Functions host's Service Bus binding: receive, call the handler, complete on success.
    const sb = new ServiceBusClient(inject('serviceBusConnectionString'));
    const receiver = sb.createReceiver(queueName);
    let handled = 0;
    try {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1_000 });
        if (message) {
          await fn.distillWorker(message.body, new InvocationContext({ functionName: 'distill-worker', triggerMetadata: { deliveryCount: message.deliveryCount } }));
          await receiver.completeMessage(message);
          handled++;
        }
        const job = await distillery.jobStore.get('bank-intents.1');
        if (job && (job.state === 'succeeded' || job.state === 'failed')) break;
        if (Date.now() > deadline) throw new Error(`job did not finish: ${JSON.stringify(job)}`);
      }
    } finally {
      await receiver.close();
      await sb.close();
    }
    expect(handled).toBeGreaterThanOrEqual(1);
    const job = (await distillery.jobStore.get('bank-intents.1'))!;
    expect(job).toMatchObject({ state: 'succeeded', outcome: 'promoted', trigger: { type: 'threshold' } });
    expect((await distillery.registry.getPromoted('bank-intents'))?.version).toBe(1);
    const model = await distillery.artifacts.get('models/bank-intents/bank-intents.1/model.onnx');
    expect(model?.byteLength).toBeGreaterThan(1000);

    await new Promise((r) => setTimeout(r, 2_100)); // the router's refresh interval
    const unseen = data.test.map((r) => r.text).slice(0, 300);
    // 50 at a time: a burst of 300 at once is beyond the process's admission cap (503, retried by clients).
    const replies: Awaited<ReturnType<typeof chat>>[] = [];
    for (let i = 0; i < unseen.length; i += 50) replies.push(...(await Promise.all(unseen.slice(i, i + 50).map(chat))));
    for (const r of replies) expect(r.status).toBe(200);
    const answers = replies.map((a, i) => ({ ...a, agrees: a.answer === gold.get(unseen[i]!) }));
    const byStudent = answers.filter((a) => a.arm === 'student');
    expect(byStudent.length).toBeGreaterThan(150);
    expect(byStudent.filter((a) => a.agrees).length / byStudent.length).toBeGreaterThanOrEqual(0.9);
    expect(answers.filter((a) => a.agrees).length / answers.length).toBeGreaterThanOrEqual(0.9);
  }, 180_000);
});
