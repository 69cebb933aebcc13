import type { Context, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { DistilleryError, invalidRequest } from '../core/errors.js';
import { readJsonBody } from './read-json-body.js';

// Bodies of routes whose handlers take none (the manual trigger, cancel, promote, rollback): a
// request may send nothing or `{}`, and anything else — malformed JSON such as `{"__probe":`, an
// array, unknown fields — is a 400 before the handler acts. A route that ignored its body used to
// queue a job for a malformed one.

export const emptyBody = z.object({}).strict();

export interface BodyRule {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Hono path pattern, e.g. /admin/tasks/:task/distill. */
  path: string;
  schema: z.ZodType;
}

const MAX_BYTES = 16 * 1024;

/** Validates the body, then lets the route's handler run (it reads nothing more). */
export function validateBody(rule: BodyRule): MiddlewareHandler {
  return async (c: Context, next) => {
    const hasBody = c.req.raw.body !== null && c.req.header('content-length') !== '0';
    const body = hasBody ? await readJsonBody(c.req.raw, MAX_BYTES).catch(noBodyIsFine) : undefined;
    if (body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('The request body must be a JSON object (or empty).', null, 'invalid_json');
      rule.schema.parse(body);
    }
    await next();
  };
}

/** A body of no bytes or only whitespace is no body here, not malformed JSON. */
function noBodyIsFine(err: unknown): undefined {
  if (err instanceof DistilleryError && err.code === 'invalid_json' && err.message.startsWith('The request body is empty')) return undefined;
  throw err;
}
