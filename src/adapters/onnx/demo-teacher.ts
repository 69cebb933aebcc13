import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { classificationInput, OnnxStudentModel } from './onnx-student-model.js';
import { readStudentArtifacts, writeStudentArtifacts } from './student-artifacts.js';
import { chatCompletionRequestSchema } from '../../core/chat/chat-request-schema.js';
import type { ArtifactStore } from '../../core/ports.js';
import { trainStudentInWorker } from './train-student-in-worker.js';
import type { TrainingProgress } from './train-student.js';
import { countLocalUsage, warmCl100k } from '../shared/cl100k-token-counter.js';

// The demo teacher: a local OpenAI-compatible server for the CLINC150 customer-support intent
// task, standing in for DeepSeek-V3 / GPT-4o so the demo needs no Azure account and no network.
// It is a wider classifier than the student (100-dim embeddings over 2× the hash buckets),
// trained once on CLINC150's gold labels (train + validation, out-of-scope included) and cached
// under the data folder. It answers through HTTP like a real teacher — same adapter, same
// retries — with a simulated latency, and returns logprobs over the labels when asked (streamed
// too), so the student can learn from its soft distribution (knowledge distillation at temperature
// T). `n` gives n copies of its answer, as an LLM at temperature 0 would.

// The teacher is this one wide bag, not a candidate search (conv_filters 0: no convolutional candidate).
export const DEMO_TEACHER_HYPERPARAMETERS = { embedding_dim: 100, buckets: 100_000, epochs: 10, learning_rate: 0.8, seed: 1234, conv_filters: 0 };

type Row = [string, string];

/** CLINC150 rows from data/clinc150 (CC BY 3.0). Out-of-scope rows are labelled `oos`. */
export function readClinc150(dataRoot: string) {
  const raw = JSON.parse(readFileSync(path.join(dataRoot, 'clinc150', 'data_full.json'), 'utf8')) as Record<string, Row[]>;
  const domains = JSON.parse(readFileSync(path.join(dataRoot, 'clinc150', 'domains.json'), 'utf8')) as Record<string, string[]>;
  const labels = [...Object.values(domains).flat(), 'oos'];
  const rows = (k: string) => raw[k]!.map(([text, label]) => ({ text, label }));
  return {
    labels,
    train: [...rows('train'), ...rows('oos_train')],
    val: [...rows('val'), ...rows('oos_val')],
    test: rows('test'),
    oosTest: rows('oos_test'),
  };
}

/** Loads the cached teacher model, training and caching it first if absent (about 10 s). */
export async function loadDemoTeacherModel(options: { cache: ArtifactStore; dataRoot: string; log?: (m: string) => void; onProgress?: (p: TrainingProgress) => void }): Promise<OnnxStudentModel> {
  const store = options.cache;
  let artifacts = await readStudentArtifacts(store, 'demo-teacher');
  if (!artifacts) {
    options.log?.('Training the demo teacher once on CLINC150 gold labels (cached for next time)...');
    const data = readClinc150(options.dataRoot);
    const result = await trainStudentInWorker({ labels: data.labels, train: [...data.train, ...data.val] }, DEMO_TEACHER_HYPERPARAMETERS, options.onProgress ? { onProgress: options.onProgress } : {});
    await writeStudentArtifacts(store, 'demo-teacher', result.weights, {
      task: 'clinc150-intent',
      lineage: { source: 'CLINC150 gold labels (train + val)', purpose: 'demo teacher' },
      metrics: { trainLoss: result.metrics.trainLoss },
      hyperparameters: DEMO_TEACHER_HYPERPARAMETERS,
    });
    artifacts = (await readStudentArtifacts(store, 'demo-teacher'))!;
  }
  return new OnnxStudentModel({ id: 'demo-teacher', ...artifacts });
}

export interface DemoTeacherServer {
  baseURL: string;
  close(): Promise<void>;
}

/** Serves the teacher model over the OpenAI chat-completions wire format on a loopback port. */
export async function startDemoTeacherServer(options: {
  model: OnnxStudentModel;
  /** Simulated latency of a large remote model, uniform in [min, max] ms. */
  latencyInMs?: { min: number; max: number };
  port?: number;
}): Promise<DemoTeacherServer> {
  const latency = options.latencyInMs ?? { min: 250, max: 450 };
  await warmCl100k();
  const app = new Hono();
  app.get('/v1/models', (c) => c.json({ object: 'list', data: [{ id: 'demo-teacher', object: 'model', created: 0, owned_by: 'distillery-demo' }] }));
  app.post('/v1/chat/completions', async (c) => {
    const parsed = chatCompletionRequestSchema.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json({ error: { message: parsed.error.message, type: 'invalid_request_error', param: null, code: null } }, 400);
    const req = parsed.data;
    let text: string;
    try {
      text = classificationInput(req.messages);
    } catch (err) {
      return c.json({ error: { message: (err as Error).message, type: 'invalid_request_error', param: 'messages', code: null } }, 400);
    }
    const result = await options.model.classify(text);
    await new Promise((r) => setTimeout(r, latency.min + Math.random() * (latency.max - latency.min)));
    // Counted as the in-process student counts its own (one tokenizer, one chat recipe), so the two
    // arms of a pair report the same prompt tokens for the same prompt.
    const { promptTokens, completionTokens } = countLocalUsage(req.messages, result.label);
    const top = [...result.probabilities]
      .map((p, i) => ({ token: options.model.labels[i]!, logprob: Math.log(Math.max(p, 1e-12)) }))
      .sort((a, b) => b.logprob - a.logprob)
      .slice(0, Math.max(1, req.top_logprobs ?? 5));
    const logprobs = req.logprobs ? { content: [{ token: result.label, logprob: Math.log(Math.max(result.confidence, 1e-12)), bytes: null, top_logprobs: top }], refusal: null } : null;
    const id = `chatcmpl-demo-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const created = Math.floor(Date.now() / 1000);
    // n choices, as an LLM at temperature 0 gives them: the same answer n times, each billed.
    const n = req.n ?? 1;
    const usage = { prompt_tokens: promptTokens, completion_tokens: n * completionTokens, total_tokens: promptTokens + n * completionTokens };
    const indexes = Array.from({ length: n }, (_, i) => i);
    if (!req.stream) {
      return c.json({
        id,
        object: 'chat.completion',
        created,
        model: 'demo-teacher',
        choices: indexes.map((index) => ({ index, message: { role: 'assistant', content: result.label, refusal: null }, logprobs, finish_reason: 'stop' })),
        usage,
      });
    }
    // Streamed as OpenAI streams: the logprobs of a content token ride in the chunk that carries it.
    const chunk = (index: number, delta: unknown, finish: string | null, lp: unknown = null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: 'demo-teacher', choices: [{ index, delta, logprobs: lp, finish_reason: finish }] })}\n\n`;
    let body = '';
    for (const i of indexes) body += chunk(i, { role: 'assistant', content: '' }, null) + chunk(i, { content: result.label }, null, logprobs) + chunk(i, {}, 'stop');
    if (req.stream_options?.include_usage) body += `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: 'demo-teacher', choices: [], usage })}\n\n`;
    return c.body(body + 'data: [DONE]\n\n', 200, { 'content-type': 'text/event-stream' });
  });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: options.port ?? 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
