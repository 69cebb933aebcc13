import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { chatCompletionRequestSchema } from '../core/chat/chat-request-schema.js';
import { forbidden, invalidRequest, notFound, rateLimited, unauthorized } from '../core/errors.js';
import type { ChatService, GatewayStream, ModelResolver } from '../core/ports.js';
import type { TaskCatalog, TaskRuntime } from '../core/tasks/task-catalog.js';
import type { Clock } from '../core/ports.js';
import { armSchema } from '../core/routing/policy-schema.js';
import type { AdmissionControl } from './admission-control.js';
import { ApiKeyAuthenticator, presentedKey, type Principal, type Scope } from './api-key-auth.js';
import { clientAddress } from './client-address.js';
import { describeForLog, toOpenAIError } from './error-mapping.js';
import { FailedAuthThrottle, type FailedAuthLimit } from './failed-auth-throttle.js';
import { ChunkEncoder, completionBody } from './openai-wire.js';
import { readJsonBody } from './read-json-body.js';
import { TokenBucketLimiter } from './token-bucket-limiter.js';

// createApp(deps): the whole HTTP surface as one Hono app. It never reads the environment and is
// not changed after it is built; src/http/listen.ts serves it on Node and functions/http-api.ts inside
// Azure Functions.

export interface AppEnv {
  Variables: { principal: Principal; tenant: string; requestId: string };
  Bindings: { context?: unknown };
}

export interface MountedRoutes {
  /** Path prefix, e.g. '/admin'. */
  path: string;
  app: Hono<AppEnv>;
  /** Scope required; `public` routes (dashboard shell, static assets) need no key. */
  scope: Scope | 'public';
}

export interface AppDeps {
  /** The chat use case (the ChatGateway, or a fake in HTTP tests). */
  gateway: ChatService;
  tasks: TaskCatalog;
  models: ModelResolver;
  auth: ApiKeyAuthenticator;
  clock: Clock;
  maxBodyBytes: number;
  corsOrigins?: string[];
  /** Default token-bucket rate per key (requests/second); keys may override. 0 = unlimited. */
  defaultRatePerSecond?: number;
  routes?: MountedRoutes[];
  newId?: () => string;
  /** Failed authentications allowed per source before 429 (default 20, then 0.5/s). */
  failedAuthLimit?: FailedAuthLimit;
  /** Operator log: upstream failures (redacted) and unexpected errors with their stack. */
  log?: (message: string) => void;
  /** Health of parts that can degrade without stopping service (the pair writer), for /healthz. */
  health?: () => Record<string, { status: 'ok' | 'degraded' }>;
  /** Cap on chat requests in flight; beyond it 503 + retry-after. Absent = no cap. */
  admission?: AdmissionControl;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const newId = deps.newId ?? (() => randomUUID().replaceAll('-', ''));
  const limiter = new TokenBucketLimiter(deps.clock);
  const log = deps.log ?? (() => undefined);
  const failedAuth = new FailedAuthThrottle(deps.clock, deps.failedAuthLimit, log);
  const logFailure = (err: unknown, c: Context<AppEnv>) => {
    const line = describeForLog(err, `${c.req.method} ${new URL(c.req.url).pathname} [request ${c.get('requestId')}]`);
    if (line) log(line);
  };

  app.onError((err, c) => {
    logFailure(err, c);
    const { status, body, headers } = toOpenAIError(err);
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    return c.json(body, status);
  });
  app.notFound((c) => {
    const { status, body } = toOpenAIError(notFound(`No route for ${c.req.method} ${new URL(c.req.url).pathname}.`, 'unknown_url'));
    return c.json(body, status);
  });

  app.use('*', async (c, next) => {
    // The client's id is only echoed (correlation): pair ids and completion ids are always ours,
    // so a repeated or chosen x-request-id can never overwrite another pair.
    const requestId = newId();
    c.set('requestId', requestId);
    c.header('x-request-id', c.req.header('x-request-id')?.slice(0, 128).replace(/[^\w.-]/g, '') || requestId);
    await next();
  });

  // CORS is closed unless origins are configured: browsers cannot call the API cross-origin.
  if (deps.corsOrigins?.length) {
    app.use('*', cors({ origin: deps.corsOrigins, allowHeaders: ['authorization', 'api-key', 'content-type', 'x-request-id'] }));
  }

  const authenticate = (scope: Scope) => async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const source = clientAddress(c);
    failedAuth.check(source);
    const principal = deps.auth.verify(presentedKey(c.req.raw.headers));
    if (!principal) {
      failedAuth.recordFailure(source);
      throw unauthorized();
    }
    if (!principal.scopes.has(scope) && !(scope === 'chat' && principal.scopes.has('admin'))) throw forbidden();
    const rate = principal.ratePerSecond ?? deps.defaultRatePerSecond ?? 0;
    if (rate > 0) {
      const wait = limiter.take(principal.keyId, rate);
      if (wait > 0) throw rateLimited(wait / 1000);
    }
    c.set('principal', principal);
    c.set('tenant', principal.tenant);
    await next();
  };

  // Degraded parts (e.g. pair records refused) show here; the process still serves, so 200.
  app.get('/healthz', (c) => {
    const parts = deps.health?.() ?? {};
    const degraded = Object.values(parts).some((p) => p.status !== 'ok');
    return c.json({ status: degraded ? 'degraded' : 'ok', ...parts });
  });

  app.use('/v1/*', authenticate('chat'));

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
      const response = await chatCompletion(c, () => (handedOff = true), release);
      return response;
    } finally {
      if (!handedOff) release?.();
    }
  });

  async function chatCompletion(c: Context<AppEnv>, handOff: () => void, release: (() => void) | undefined): Promise<Response> {
    const body = await readJsonBody(c.req.raw, deps.maxBodyBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
    }
    const request = chatCompletionRequestSchema.parse(body);
    const task = deps.tasks.get(request.model);
    if (!task) {
      throw notFound(`The model '${request.model}' does not exist or you do not have access to it.`, 'model_not_found', 'model');
    }
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
      task,
      request,
      ...(forcedArm ? { forcedArm } : {}),
      abortSignal: c.req.raw.signal,
    };

    if (!request.stream) {
      const served = await deps.gateway.complete(invocation);
      setServedHeaders(c, served);
      return c.json(completionBody(completionId, created, served.result, request.logprobs === true));
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

  for (const mounted of deps.routes ?? []) {
    if (mounted.scope !== 'public') app.use(`${mounted.path}/*`, authenticate(mounted.scope));
    app.route(mounted.path, mounted.app);
  }

  return app;
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
  c.header('x-distillery-arm', served.arm);
  c.header('x-distillery-model', served.model);
  // Header values must be ASCII without line breaks.
  c.header('x-distillery-reason', served.reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 512));
}
