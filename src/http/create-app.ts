import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { chatCompletionRequestSchema } from '../core/chat/chat-request-schema.js';
import { forbidden, invalidRequest, notFound, rateLimited, unauthorized } from '../core/errors.js';
import type { ChatService, ModelResolver } from '../core/ports.js';
import type { TaskCatalog, TaskRuntime } from '../core/tasks/task-catalog.js';
import type { Clock } from '../core/ports.js';
import { armSchema } from '../core/routing/policy-schema.js';
import { ApiKeyAuthenticator, presentedKey, type Principal, type Scope } from './api-key-auth.js';
import { toOpenAIError } from './error-mapping.js';
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
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const newId = deps.newId ?? (() => randomUUID().replaceAll('-', ''));
  const limiter = new TokenBucketLimiter(deps.clock);

  app.onError((err, c) => {
    const { status, body, headers } = toOpenAIError(err);
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    return c.json(body, status);
  });
  app.notFound((c) => {
    const { status, body } = toOpenAIError(notFound(`No route for ${c.req.method} ${new URL(c.req.url).pathname}.`, 'unknown_url'));
    return c.json(body, status);
  });

  app.use('*', async (c, next) => {
    const requestId = c.req.header('x-request-id')?.slice(0, 128).replace(/[^\w.-]/g, '') || newId();
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    await next();
  });

  // CORS is closed unless origins are configured: browsers cannot call the API cross-origin.
  if (deps.corsOrigins?.length) {
    app.use('*', cors({ origin: deps.corsOrigins, allowHeaders: ['authorization', 'api-key', 'content-type', 'x-request-id'] }));
  }

  const authenticate = (scope: Scope) => async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const principal = deps.auth.verify(presentedKey(c.req.raw.headers));
    if (!principal) throw unauthorized();
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

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.use('/v1/*', authenticate('chat'));

  app.get('/v1/models', async (c) => {
    const created = Math.floor(deps.clock.now() / 1000);
    const data: Record<string, unknown>[] = [];
    const underlying = new Map<string, string>();
    for (const task of deps.tasks.list()) {
      const cfg = task.config;
      const teacher = deps.models.teacher(cfg);
      const student = cfg.student ? await deps.models.student(cfg).catch(() => undefined) : undefined;
      underlying.set(teacher.id, 'teacher');
      if (student) underlying.set(student.id, 'student');
      data.push({
        id: cfg.name,
        object: 'model',
        created,
        owned_by: 'distillery',
        distillery: { kind: 'task', description: cfg.description, teacher: teacher.id, student: student?.id ?? null, policy: cfg.routing.policy },
      });
    }
    for (const [id, role] of underlying) data.push({ id, object: 'model', created, owned_by: 'distillery', distillery: { kind: role } });
    return c.json({ object: 'list', data });
  });

  app.post('/v1/chat/completions', async (c) => {
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
    const iterator = served.events[Symbol.asyncIterator]();
    const bytes = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) {
            controller.enqueue(bytes.encode('data: [DONE]\n\n'));
            controller.close();
            return;
          }
          const text = encoder.encode(next.value);
          if (text) controller.enqueue(bytes.encode(text));
        } catch (err) {
          // Headers are gone: the error travels as an SSE event (OpenAI clients raise it), no [DONE].
          const { body: errorBody } = toOpenAIError(err);
          controller.enqueue(bytes.encode(`data: ${JSON.stringify(errorBody)}\n\n`));
          controller.close();
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    });
    return c.body(stream, 200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
  });

  for (const mounted of deps.routes ?? []) {
    if (mounted.scope !== 'public') app.use(`${mounted.path}/*`, authenticate(mounted.scope));
    app.route(mounted.path, mounted.app);
  }

  return app;
}

function setServedHeaders(c: Context<AppEnv>, served: { arm: string; model: string; reason: string }) {
  c.header('x-distillery-arm', served.arm);
  c.header('x-distillery-model', served.model);
  // Header values must be ASCII without line breaks.
  c.header('x-distillery-reason', served.reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 512));
}
