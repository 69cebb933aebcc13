import type { Context, Hono } from 'hono';
import type { ChatCompletionRequest } from '../core/chat/chat-request-schema.js';
import { parseChatCompletionRequest } from '../core/chat/chat-request-fast-path.js';
import { classifierMayRefuse, classifierRefusal } from '../core/chat/classifier-options.js';
import { forbidden, invalidRequest, notFound } from '../core/errors.js';
import type { GatewayStream } from '../core/ports.js';
import type { TaskRuntime } from '../core/tasks/task-catalog.js';
import { armSchema } from '../core/routing/policy-schema.js';
import type { ChatService, ModelResolver } from '../core/ports.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import type { AdmissionControl } from './admission-control.js';
import type { AppEnv } from './app-env.js';
import { toOpenAIError } from './error-mapping.js';
import { ChunkEncoder, completionBody } from './openai-wire.js';
import { readJsonBody } from './read-json-body.js';

// The OpenAI surface: /v1/models and /v1/chat/completions (plain and streamed) over the
// ChatService port. Authentication and admission are the app's; this file is the wire.

export interface ChatRouteDeps {
  gateway: ChatService;
  tasks: TaskCatalog;
  models: ModelResolver;
  clock: { now(): number };
  maxBodyBytes: number;
  admission?: AdmissionControl;
}

export function registerChatRoutes(app: Hono<AppEnv>, deps: ChatRouteDeps): void {
  // Exactly what a chat may name: the tasks. The teacher and student behind each are described in
  // its entry, never listed as models of their own (a chat naming them would be a 404).
  const modelEntry = async (task: TaskRuntime, created: number) => {
    const cfg = task.config;
    const teacher = deps.models.teacher(cfg);
    const student = cfg.student ? await deps.models.student(cfg).catch(() => undefined) : undefined;
    return { id: cfg.name, object: 'model', created, owned_by: 'distillery', distillery: { kind: 'task', description: cfg.description, teacher: teacher.id, student: student?.id ?? null, policy: cfg.routing.policy } };
  };
  app.get('/v1/models', async (c) => {
    const created = Math.floor(deps.clock.now() / 1000);
    const data = await Promise.all(deps.tasks.list().map((t) => modelEntry(t, created)));
    return c.json({ object: 'list', data });
  });
  app.get('/v1/models/:id', async (c) => {
    const task = deps.tasks.get(c.req.param('id'));
    if (!task) throw notFound(`The model '${c.req.param('id')}' does not exist: GET /v1/models lists the tasks a chat may name.`, 'model_not_found', 'model');
    return c.json(await modelEntry(task, Math.floor(deps.clock.now() / 1000)));
  });

  app.post('/v1/chat/completions', async (c) => {
    // Admitted before the body is read: a refused request costs no buffering. A stream hands its
    // release to the response body, which holds it until the last byte or the client leaving.
    const release = deps.admission?.enter();
    let handedOff = false;
    try {
      const response = await chatCompletion(c, deps, () => (handedOff = true), release);
      return response;
    } finally {
      if (!handedOff) release?.();
    }
  });

}

/** One chat completion: parse, find the task, call the chat service, answer plain or as SSE. */
async function chatCompletion(c: Context<AppEnv>, deps: ChatRouteDeps, handOff: () => void, release: (() => void) | undefined): Promise<Response> {
  const body = await readJsonBody(c.req.raw, deps.maxBodyBytes);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  // The hot shape without zod; anything else (and every error message) through the schema.
  const request = parseChatCompletionRequest(body);
  const task = deps.tasks.get(request.model);
  if (!task) {
    throw notFound(`The model '${request.model}' does not exist or you do not have access to it.`, 'model_not_found', 'model');
  }
  c.set('task', task.config.name);
  if (task.config.student && classifierMayRefuse(request)) await refuseWhatTheClassifierCannot(request, task, deps.models);
  const principal = c.get('principal');
  const forced = c.req.header('x-distillery-force-arm');
  let forcedArm: 'teacher' | 'student' | undefined;
  if (forced !== undefined) {
    if (!principal.scopes.has('admin')) throw forbidden('x-distillery-force-arm needs an admin-scoped key.');
    const parsed = armSchema.safeParse(forced);
    if (!parsed.success) throw invalidRequest("x-distillery-force-arm must be 'teacher' or 'student'.", 'x-distillery-force-arm');
    forcedArm = parsed.data;
  }
  const requestId = c.get('requestId');
  const completionId = `chatcmpl-${requestId}`;
  const created = Math.floor(deps.clock.now() / 1000);
  const invocation = {
    requestId,
    tenant: principal.tenant,
    keyId: principal.keyId,
    task,
    request,
    ...(forcedArm ? { forcedArm } : {}),
    abortSignal: c.req.raw.signal,
  };

  if (!request.stream) {
    const served = await deps.gateway.complete(invocation);
    c.set('arm', served.arm);
    // Plain headers, x-request-id among them: no Headers object is built for the hot answer, and
    // @hono/node-server writes a plain object as it is (c.json would go through Headers twice).
    c.set('requestIdSent', true);
    return new Response(JSON.stringify(completionBody(completionId, created, served.result, request.logprobs === true)), {
      status: 200,
      headers: {
        'Content-Type': 'application/json',
        'x-request-id': c.get('responseRequestId'),
        'x-distillery-arm': served.arm,
        'x-distillery-model': served.model,
        'x-distillery-reason': headerSafe(served.reason),
      },
    });
  }

  const served = await deps.gateway.stream(invocation);
  setServedHeaders(c, served);
  const encoder = new ChunkEncoder(completionId, created, served.model, request.stream_options?.include_usage === true, request.logprobs === true);
  handOff();
  return c.body(sseBody(served, encoder, release), 200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
}

/**
 * A task whose student is a classifier refuses, whichever arm would answer, the options a label
 * cannot honour (core/chat/classifier-options.ts): one request never succeeds or fails by the dice.
 */
async function refuseWhatTheClassifierCannot(request: ChatCompletionRequest, task: TaskRuntime, models: ModelResolver): Promise<void> {
  const student = await models.student(task.config).catch(() => undefined);
  if (student?.hosting !== 'in-process') return;
  const format = task.config.classification?.labelFormat;
  const refusal = classifierRefusal(request, format?.type === 'json' ? format.key : 'label');
  if (refusal) throw invalidRequest(refusal.message, refusal.param, 'unsupported_parameter');
}

/**
 * The SSE body of a served stream. It ends in `data: [DONE]`, or in an OpenAI error event when the
 * stream fails after the headers (a stalled or cut upstream). When the client leaves, `cancel` must
 * not wait: the events' generator may be parked on an upstream read, and awaiting its `return()`
 * would hold the request (and its admission slot) until the upstream speaks again. The request's
 * signal has already aborted the upstream call; the generator's own cleanup runs when it wakes.
 */
function sseBody(served: GatewayStream, encoder: ChunkEncoder, release: (() => void) | undefined): ReadableStream<Uint8Array> {
  const iterator = served.events[Symbol.asyncIterator]();
  const bytes = new TextEncoder();
  let finished = false;
  const finish = () => {
    finished = true;
    release?.();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: string;
      let last = false;
      try {
        const next = await iterator.next();
        if (next.done) {
          chunk = 'data: [DONE]\n\n';
          last = true;
        } else chunk = encoder.encode(next.value);
      } catch (err) {
        // Headers are gone: the error travels as an SSE event (OpenAI clients raise it), no [DONE].
        chunk = `data: ${JSON.stringify(toOpenAIError(err).body)}\n\n`;
        last = true;
      }
      if (finished) return; // cancelled while waiting: the stream is already closed
      if (chunk) controller.enqueue(bytes.encode(chunk));
      if (last) {
        controller.close();
        finish();
      }
    },
    cancel() {
      finish();
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    },
  });
}

function setServedHeaders(c: Context<AppEnv>, served: { arm: string; model: string; reason: string }) {
  c.set('arm', served.arm);
  c.header('x-distillery-arm', served.arm);
  c.header('x-distillery-model', served.model);
  c.header('x-distillery-reason', headerSafe(served.reason));
}

/** Header values must be ASCII without line breaks. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}
