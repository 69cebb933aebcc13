import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { routePath } from 'hono/route';
import { cors } from 'hono/cors';
import { forbidden, notFound, rateLimited, unauthorized } from '../core/errors.js';
import type { ChatService, ModelResolver } from '../core/ports.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import type { Clock } from '../core/ports.js';
import type { AdmissionControl } from './admission-control.js';
import { ApiKeyAuthenticator, presentedKey, type Principal, type Scope } from './api-key-auth.js';
import { clientAddress } from './client-address.js';
import { describeForLog, toOpenAIError } from './error-mapping.js';
import { FailedAuthThrottle, type FailedAuthLimit } from './failed-auth-throttle.js';
import type { RequestObservation } from './http-metrics.js';
import { validateBody, type BodyRule } from './request-bodies.js';
import { TokenBucketLimiter } from './token-bucket-limiter.js';
import type { AppEnv } from './app-env.js';
import { registerChatRoutes } from './chat-routes.js';

// createApp(deps): the whole HTTP surface as one Hono app. It never reads the environment and is
// not changed after it is built; src/http/listen.ts serves it on Node and functions/http-api.ts inside
// Azure Functions.

export type { AppEnv } from './app-env.js';

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
  /** Bodies checked before the route's handler runs (routes that take no body). */
  bodyRules?: BodyRule[];
  /** Called once per answered request (metrics, the access log); never sees the body. */
  observe?: (observation: RequestObservation) => void;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const newId = deps.newId ?? (() => randomUUID().replaceAll('-', ''));
  const log = deps.log ?? (() => undefined);
  const failedAuth = new FailedAuthThrottle(deps.clock, deps.failedAuthLimit, log);
  const logFailure = (err: unknown, c: Context<AppEnv>) => {
    const line = describeForLog(err, `${c.req.method} ${pathOf(c.req.url)} [request ${c.get('requestId')}]`);
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
    const shown = c.req.header('x-request-id')?.slice(0, 128).replace(/[^\w.-]/g, '') || requestId;
    c.set('responseRequestId', shown);
    // Set after the route, not before: a header set before makes every response (the chat
    // answer included) build a Headers object, and node-server then iterates it to write them.
    await next();
    if (!c.get('requestIdSent')) setResponseHeader(c, 'x-request-id', shown);
  });

  if (deps.observe) {
    const observe = deps.observe;
    app.use('*', async (c, next) => {
      const started = performance.now();
      await next();
      observe(observationOf(c, performance.now() - started));
    });
  }

  // CORS is closed unless origins are configured: browsers cannot call the API cross-origin.
  if (deps.corsOrigins?.length) {
    app.use('*', cors({ origin: deps.corsOrigins, allowHeaders: ['authorization', 'api-key', 'content-type', 'x-request-id'] }));
  }

  const authenticate = createAuthenticate(deps, new TokenBucketLimiter(deps.clock), failedAuth);

  // Degraded parts (e.g. pair records refused) show here; the process still serves, so 200.
  app.get('/healthz', (c) => {
    const parts = deps.health?.() ?? {};
    const degraded = Object.values(parts).some((p) => p.status !== 'ok');
    return c.json({ status: degraded ? 'degraded' : 'ok', ...parts });
  });

  app.use('/v1/*', authenticate('chat'));

  registerChatRoutes(app, deps);

  // Every key check first, once per request (a group under an authenticated prefix of the same
  // scope is already covered: checking twice would take two rate-limit tokens), then body rules,
  // then the routes: Hono runs handlers in the order they were registered.
  const authenticated: MountedRoutes[] = [];
  for (const mounted of deps.routes ?? []) {
    if (mounted.scope === 'public' || authenticated.some((a) => a.scope === mounted.scope && (mounted.path === a.path || mounted.path.startsWith(`${a.path}/`)))) continue;
    authenticated.push(mounted);
    app.use(`${mounted.path}/*`, authenticate(mounted.scope));
  }
  for (const rule of deps.bodyRules ?? []) app.on(rule.method, rule.path, validateBody(rule));
  for (const mounted of deps.routes ?? []) app.route(mounted.path, mounted.app);

  return app;
}

/** The key check of a scope: source throttle, the key, its scope, its rate; sets principal and tenant. */
function createAuthenticate(deps: AppDeps, limiter: TokenBucketLimiter, failedAuth: FailedAuthThrottle) {
  return (scope: Scope) => async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const source = clientAddress(c);
    failedAuth.check(source);
    const principal = await deps.auth.authenticate(presentedKey(c.req.raw.headers));
    if (!principal) {
      failedAuth.recordFailure(source);
      throw unauthorized();
    }
    if (!principal.scopes.has(scope) && !impliedScope(principal, scope)) throw forbidden();
    const rate = principal.ratePerSecond ?? deps.defaultRatePerSecond ?? 0;
    if (rate > 0) {
      const wait = limiter.take(principal.keyId, rate);
      if (wait > 0) throw rateLimited(wait / 1000);
    }
    c.set('principal', principal);
    c.set('tenant', principal.tenant);
    await next();
  };
}

/** An admin key may chat; the operator's admin key may also read metrics. */
function impliedScope(principal: Principal, scope: Scope): boolean {
  if (!principal.scopes.has('admin')) return false;
  return scope === 'chat' || (scope === 'metrics' && principal.tenant === '*');
}

function observationOf(c: Context<AppEnv>, durationInMs: number): RequestObservation {
  const principal = c.get('principal');
  const task = c.get('task');
  const arm = c.get('arm');
  const route = routePath(c);
  return {
    method: c.req.method,
    // A request no route answered (404, or refused by a prefix's authentication) keeps its prefix.
    route: route || '*',
    path: pathOf(c.req.url),
    status: c.res.status,
    durationInMs,
    requestId: c.get('requestId'),
    ...(task ? { task } : {}),
    ...(arm ? { arm } : {}),
    ...(principal ? { tenant: principal.tenant, keyId: principal.keyId } : {}),
  };
}

/** The path of an absolute request URL (already normalised by the server or the Request), unparsed. */
export function pathOf(url: string): string {
  const scheme = url.indexOf('://');
  const start = url.indexOf('/', scheme < 0 ? 0 : scheme + 3);
  if (start < 0) return '/';
  let end = url.length;
  const query = url.indexOf('?', start);
  if (query >= 0) end = query;
  const hash = url.indexOf('#', start);
  if (hash >= 0 && hash < end) end = hash;
  return url.slice(start, end);
}

/** Sets a header on the finished response; a response with immutable headers is copied first. */
function setResponseHeader(c: Context<AppEnv>, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}
