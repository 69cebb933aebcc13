import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { isOperator } from '../core/distill/tenant-scope.js';
import { forbidden, invalidRequest, notFound } from '../core/errors.js';
import { keyIdOf, type ApiKeyStore, type StoredApiKey } from '../core/keys/api-key-store.js';
import type { PairRecord } from '../core/pairs/pair-record.js';
import type { Clock, PairStore } from '../core/ports.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import { generateApiKey } from './api-key-auth.js';
import type { AppEnv } from './create-app.js';
import { readJsonBody } from './read-json-body.js';

// Key management (mounted at /admin/keys, operator only: a tenant's admin key may not mint keys).
// A created key is answered once, in clear; the store keeps its SHA-256. Usage and spend of a key
// are derived from the pair records it produced (each carries the key id), over a time window.

export interface KeyRouteDeps {
  keys: ApiKeyStore;
  pairStore: PairStore;
  tasks: TaskCatalog;
  clock: Clock;
  /** Called after a key is created or revoked, so this instance's cached lookups are dropped. */
  onChange?: () => void;
}

const BODY_MAX_BYTES = 16 * 1024;
const DAY_MS = 86_400_000;
/** Longest usage window: a wider one would scan too many pair records in one request. */
const MAX_USAGE_DAYS = 93;

export const createKeyBody = z
  .object({
    tenant: z.string().min(1).max(128).regex(/^[^*/\\?#\u0000-\u001f]+$/, "a tenant name (not '*')").optional(),
    scopes: z.array(z.enum(['chat', 'admin', 'metrics'])).min(1).max(3).default(['chat']),
    name: z.string().trim().min(1).max(128).optional(),
    rate_per_second: z.number().positive().max(100_000).optional(),
    /** Only the operator may create another operator key (tenant '*'): say so explicitly. */
    operator: z.boolean().optional(),
  })
  .strict();

const usageQuery = z.object({
  since: z.string().datetime({ offset: true }).optional(),
  until: z.string().datetime({ offset: true }).optional(),
});

/** What the API shows of a key: never the key, never its digest. */
export function keyView(key: StoredApiKey) {
  return {
    id: key.id,
    object: 'api_key',
    tenant: key.tenant,
    scopes: key.scopes,
    name: key.name ?? null,
    rate_per_second: key.ratePerSecond ?? null,
    created_at: key.createdAt,
    last_used_at: key.lastUsedAt ?? null,
  };
}

export function createKeyRoutes(deps: KeyRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    if (!isOperator(c.get('tenant'))) throw forbidden('Only the operator key may manage keys.');
    await next();
  });

  app.post('/', async (c) => {
    const body = createKeyBody.parse(await readObject(c));
    if (!body.tenant && !body.operator) throw invalidRequest("Give the key's tenant, or operator: true for an operator key.", 'tenant');
    if (body.tenant && body.operator) throw invalidRequest('An operator key has no tenant: give one of tenant and operator.', 'operator');
    const { key, record } = generateApiKey(body.tenant ?? '*', body.scopes);
    const stored: StoredApiKey = {
      id: keyIdOf(record.sha256),
      sha256: record.sha256,
      tenant: record.tenant,
      scopes: record.scopes,
      createdAt: new Date(deps.clock.now()).toISOString(),
      ...(body.name ? { name: body.name } : {}),
      ...(body.rate_per_second ? { ratePerSecond: body.rate_per_second } : {}),
    };
    await deps.keys.create(stored);
    deps.onChange?.();
    return c.json({ ...keyView(stored), key }, 201);
  });

  app.get('/', async (c) => {
    const data = [];
    for await (const k of deps.keys.list()) data.push(keyView(k));
    return c.json({ object: 'list', data });
  });

  app.get('/:id/usage', async (c) => {
    const key = await findKey(deps.keys, c.req.param('id'));
    const q = usageQuery.parse(c.req.query());
    const until = q.until ? Date.parse(q.until) : deps.clock.now();
    const since = q.since ? Date.parse(q.since) : Math.max(Date.parse(key.createdAt), until - 30 * DAY_MS);
    if (since >= until) throw invalidRequest('since must be before until.', 'since');
    if (until - since > MAX_USAGE_DAYS * DAY_MS) throw invalidRequest(`The usage window may span at most ${MAX_USAGE_DAYS} days.`, 'since');
    const usage = await keyUsage(deps, key, new Date(since).toISOString(), new Date(until).toISOString(), c.req.raw.signal);
    return c.json(usage);
  });

  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await deps.keys.delete(id))) throw notFound(`No key with id '${id}'.`, 'key_not_found', 'id');
    deps.onChange?.();
    return c.json({ id, object: 'api_key', deleted: true });
  });

  return app;
}

async function readObject(c: Context<AppEnv>): Promise<unknown> {
  const body = await readJsonBody(c.req.raw, BODY_MAX_BYTES);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
  return body;
}

async function findKey(keys: ApiKeyStore, id: string): Promise<StoredApiKey> {
  for await (const k of keys.list()) if (k.id === id) return k;
  throw notFound(`No key with id '${id}'.`, 'key_not_found', 'id');
}

interface Tally {
  requests: number;
  cost_usd: number;
  /** Arm calls whose price is unknown (an unlisted model): the spend is a lower bound when > 0. */
  unpriced_calls: number;
}

const emptyTally = (): Tally => ({ requests: 0, cost_usd: 0, unpriced_calls: 0 });

function addPair(t: Tally, pair: PairRecord) {
  t.requests += 1;
  for (const out of [pair.teacher, pair.student]) {
    if (!out) continue;
    if (out.costUsd === undefined) t.unpriced_calls += 1;
    else t.cost_usd += out.costUsd;
  }
}

/** Requests and spend of one key: every arm call its requests caused (shadow calls included). */
async function keyUsage(deps: KeyRouteDeps, key: StoredApiKey, since: string, until: string, abortSignal: AbortSignal) {
  const total = emptyTally();
  const byTask: Record<string, Tally> = {};
  const tenant = isOperator(key.tenant) ? undefined : key.tenant;
  for (const task of deps.tasks.list()) {
    const name = task.config.name;
    for await (const pair of deps.pairStore.list({ task: name, since, until, sourceKind: 'traffic', ...(tenant ? { tenant } : {}) }, { abortSignal })) {
      if (pair.keyId !== key.id) continue;
      addPair(total, pair);
      addPair((byTask[name] ??= emptyTally()), pair);
    }
  }
  const round = (t: Tally): Tally => ({ ...t, cost_usd: Math.round(t.cost_usd * 1e6) / 1e6 });
  return {
    object: 'api_key.usage',
    key_id: key.id,
    since,
    until,
    ...round(total),
    by_task: Object.fromEntries(Object.entries(byTask).map(([k, v]) => [k, round(v)])),
  };
}
