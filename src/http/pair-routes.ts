import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { isOperator } from '../core/distill/tenant-scope.js';
import { forbidden, invalidRequest, notFound } from '../core/errors.js';
import { pairDetail, pairMatches, pairSummary, type PairFilter } from '../core/pairs/pair-browser.js';
import type { PairFeedback, PairRecord } from '../core/pairs/pair-record.js';
import type { Clock, PairStore } from '../core/ports.js';
import { normalizeLabelText } from '../core/tasks/classification-task.js';
import type { TaskCatalog, TaskRuntime } from '../core/tasks/task-catalog.js';
import type { AppEnv } from './create-app.js';
import { readJsonBody } from './read-json-body.js';

// The pair browser (mounted at /admin/pairs, admin scope): list pairs with filters and a cursor,
// read one, and give feedback on it. A tenant key sees its own pairs only (the store query carries
// its tenant); the operator ('*') sees every tenant and may filter on one. Pairs are listed oldest
// first from `since` (the stores' order); a page stops after `limit` matches or after scanning
// SCAN_BUDGET records, so a rare filter never holds a request for the whole window: the client
// follows `next_cursor` while `has_more` is true.

export interface PairRouteDeps {
  pairStore: PairStore;
  tasks: TaskCatalog;
  clock: Clock;
  /** Records a page may scan before it answers with what it found (default 5,000). */
  scanBudget?: number;
}

const SCAN_BUDGET = 5_000;
const FEEDBACK_MAX_BYTES = 64 * 1024;

const listQuery = z.object({
  task: z.string().min(1).optional(),
  tenant: z.string().min(1).optional(),
  arm: z.enum(['teacher', 'student']).optional(),
  reason: z.string().min(1).max(200).optional(),
  verdict: z.enum(['agree', 'disagree', 'not_comparable']).optional(),
  model: z.string().min(1).max(255).optional(),
  feedback: z.enum(['true', 'false']).optional(),
  since: z.string().datetime({ offset: true }).optional(),
  until: z.string().datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(2_000).optional(),
});

export const feedbackBody = z
  .object({
    gold: z.string().trim().min(1).max(10_000).optional(),
    thumbs: z.enum(['up', 'down']).optional(),
    score: z.number().min(0).max(1).optional(),
    comment: z.string().max(2_000).optional(),
  })
  .strict()
  .refine((b) => b.gold !== undefined || b.thumbs !== undefined || b.score !== undefined || b.comment !== undefined, {
    message: 'Give at least one of gold, thumbs, score or comment.',
  });

/** Where a page stopped: the task being read and the last record scanned in it. */
interface Cursor {
  task: string;
  createdAt: string;
  id: string;
  tenant: string;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.task, c.createdAt, c.id, c.tenant])).toString('base64url');

function decodeCursor(raw: string): Cursor {
  try {
    const [task, createdAt, id, tenant] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown[];
    if ([task, createdAt, id, tenant].every((v) => typeof v === 'string')) return { task, createdAt, id, tenant } as Cursor;
  } catch {
    // fall through: one answer for every malformed cursor
  }
  throw invalidRequest('cursor is not one this API returned.', 'cursor', 'invalid_cursor');
}

/** Strictly after the cursor in the stores' order (createdAt, id, tenant). */
function isAfter(p: PairRecord, c: Cursor): boolean {
  const t = new Date(p.createdAt).toISOString();
  if (t !== c.createdAt) return t > c.createdAt;
  if (p.id !== c.id) return p.id > c.id;
  return p.tenant > c.tenant;
}

/** The tenant a key reads: its own; the operator every tenant, or the one it names. */
function readTenant(c: Context<AppEnv>, asked: string | undefined): string | undefined {
  const own = c.get('tenant');
  if (isOperator(own)) return asked;
  if (asked !== undefined && asked !== own) throw forbidden('A tenant key reads its own pairs only.');
  return own;
}

export function createPairRoutes(deps: PairRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const budget = deps.scanBudget ?? SCAN_BUDGET;
  const requireTask = (name: string | undefined): TaskRuntime => {
    if (name === undefined || name === '') throw invalidRequest('task is required.', 'task');
    const task = deps.tasks.get(name);
    if (!task) throw notFound(`Task '${name}' is not configured.`, 'task_not_found', 'task');
    return task;
  };

  app.get('/', async (c) => {
    const q = listQuery.parse(c.req.query());
    const tenant = readTenant(c, q.tenant);
    const since = q.since === undefined ? undefined : new Date(q.since).toISOString();
    const until = q.until === undefined ? undefined : new Date(q.until).toISOString();
    if (since && until && until < since) throw invalidRequest('until must not be before since.', 'until', 'invalid_time');
    const tasks = q.task !== undefined ? [requireTask(q.task)] : [...deps.tasks.list()].sort((a, b) => a.config.name.localeCompare(b.config.name));
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const start = cursor ? tasks.findIndex((t) => t.config.name === cursor.task) : 0;
    if (start < 0) throw invalidRequest('cursor belongs to another task filter.', 'cursor', 'invalid_cursor');
    const filter: PairFilter = { arm: q.arm, reason: q.reason, verdict: q.verdict, model: q.model, ...(q.feedback ? { hasFeedback: q.feedback === 'true' } : {}) };

    const data: ReturnType<typeof pairSummary>[] = [];
    let scanned = 0;
    let last: Cursor | undefined;
    let hasMore = false;
    scan: for (let i = start; i < tasks.length; i++) {
      const task = tasks[i]!;
      const resume = cursor && i === start ? cursor : undefined;
      const query = { task: task.config.name, tenant, since: resume ? resume.createdAt : since, until };
      for await (const pair of deps.pairStore.list(query, { abortSignal: c.req.raw.signal })) {
        if (resume && !isAfter(pair, resume)) continue;
        if (data.length >= q.limit || scanned >= budget) {
          hasMore = true;
          break scan;
        }
        scanned++;
        last = { task: task.config.name, createdAt: new Date(pair.createdAt).toISOString(), id: pair.id, tenant: pair.tenant };
        if (pairMatches(pair, filter, task)) data.push(pairSummary(pair, task));
      }
    }
    return c.json({ object: 'list', data, has_more: hasMore, next_cursor: hasMore && last ? encodeCursor(last) : null, scanned });
  });

  /** The one pair a key may read; another tenant's pair is answered like a missing one. */
  async function findPair(c: Context<AppEnv>): Promise<{ pair: PairRecord; task: TaskRuntime }> {
    const id = c.req.param('id')!;
    const task = requireTask(c.req.query('task'));
    const asked = c.req.query('tenant') || undefined;
    const own = c.get('tenant');
    const tenant = isOperator(own) ? asked : own;
    if (tenant === undefined) throw invalidRequest('tenant is required with an operator key: pairs are stored per tenant.', 'tenant');
    const missing = () => notFound(`Pair '${id}' does not exist.`, 'pair_not_found');
    if (asked !== undefined && asked !== tenant) throw missing();
    const pair = await deps.pairStore.get(task.config.name, tenant, id, { abortSignal: c.req.raw.signal });
    if (!pair) throw missing();
    return { pair, task };
  }

  app.get('/:id', async (c) => {
    const { pair, task } = await findPair(c);
    return c.json(pairDetail(pair, task));
  });

  app.post('/:id/feedback', async (c) => {
    const body = feedbackBody.parse(await readJsonBody(c.req.raw, FEEDBACK_MAX_BYTES));
    const { pair, task } = await findPair(c);
    if (body.gold !== undefined) checkGoldLabel(task, body.gold);
    const feedback: PairFeedback = { ...pair.feedback, ...body, at: new Date(deps.clock.now()).toISOString(), by: c.get('principal')?.keyId };
    const updated: PairRecord = { ...pair, feedback };
    // A whole-record upsert by id: idempotent, and the pair counter counts new pairs only.
    await deps.pairStore.upsert(updated, { abortSignal: c.req.raw.signal });
    return c.json(pairDetail(updated, task));
  });

  return app;
}

/** A classification task's gold label must be one of its labels, or accuracy could never count it. */
function checkGoldLabel(task: TaskRuntime, gold: string): void {
  const labels = task.config.classification?.labels;
  if (!labels) return;
  if (!labels.some((l) => normalizeLabelText(l) === normalizeLabelText(gold))) {
    throw invalidRequest(`gold must be one of the task's ${labels.length} labels.`, 'gold', 'unknown_label');
  }
}
