import { Hono } from 'hono';
import { z } from 'zod';
import { chatCompletionRequestSchema } from '../core/chat/chat-request-schema.js';
import type { AppEnv } from './create-app.js';
import { feedbackBody } from './pair-routes.js';

// The API description, built from the same zod schemas that validate requests, served as
// OpenAPI 3.1 at /openapi.json and as a plain, script-free page at /docs/api.

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type', 'param', 'code'],
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: ['string', 'null'] } },
    },
  },
};

interface Operation {
  method: 'get' | 'post';
  path: string;
  summary: string;
  scope: 'chat' | 'admin' | 'public';
  request?: Record<string, unknown>;
  parameters?: { name: string; in: 'path' | 'query' | 'header'; description: string; required?: boolean }[];
}

const operations: Operation[] = [
  {
    method: 'post',
    path: '/v1/chat/completions',
    summary: 'OpenAI-compatible chat completion (streaming with stream: true). `model` names a task; the router picks teacher or student.',
    scope: 'chat',
    request: json(chatCompletionRequestSchema),
    parameters: [{ name: 'x-distillery-force-arm', in: 'header', description: "Admin keys only: 'teacher' or 'student'." }],
  },
  { method: 'get', path: '/v1/models', summary: 'The models a chat may name: the routable tasks, each with the teacher and student behind it.', scope: 'chat' },
  { method: 'get', path: '/v1/models/{id}', summary: 'One task as a model (404 model_not_found for anything a chat cannot name).', scope: 'chat', parameters: [{ name: 'id', in: 'path', description: 'task name', required: true }] },
  { method: 'get', path: '/admin/tasks', summary: 'Configured tasks with routing and distillation settings.', scope: 'admin' },
  { method: 'post', path: '/admin/tasks/{task}/distill', summary: 'Manual trigger: queue a distillation job (or record the trigger on the active one).', scope: 'admin', parameters: [{ name: 'task', in: 'path', description: 'task name', required: true }] },
  { method: 'get', path: '/admin/jobs', summary: 'Distillation jobs, newest first.', scope: 'admin', parameters: [{ name: 'task', in: 'query', description: 'task' }, { name: 'state', in: 'query', description: 'job state' }, { name: 'limit', in: 'query', description: '1-500' }] },
  { method: 'get', path: '/admin/jobs/{id}', summary: 'One job: state, progress, steps, log, evaluation and gate decision; its lease (owner, expiry, live), deliveries, resumes, next retry, last error and any cancel request.', scope: 'admin', parameters: [{ name: 'id', in: 'path', description: 'job id', required: true }] },
  { method: 'post', path: '/admin/jobs/{id}/cancel', summary: "Cancel an active job: its worker stops the running step and ends it `cancelled` (202 until it has; 200 once cancelled; 409 job_finished for a job that already ended). A tenant key may cancel only its own tenant's jobs (others: 404).", scope: 'admin', parameters: [{ name: 'id', in: 'path', description: 'job id', required: true }] },
  { method: 'get', path: '/admin/jobs/{id}/dataset/{file}', summary: 'The versioned dataset a job built (manifest.json, examples.jsonl, train.jsonl, validation.jsonl, validation-report.json).', scope: 'admin', parameters: [{ name: 'id', in: 'path', description: 'job id', required: true }, { name: 'file', in: 'path', description: 'file name', required: true }] },
  { method: 'get', path: '/admin/tasks/{task}/models', summary: 'Student versions of a task with lineage and metrics.', scope: 'admin', parameters: [{ name: 'task', in: 'path', description: 'task name', required: true }] },
  { method: 'post', path: '/admin/tasks/{task}/models/{version}/promote', summary: 'Promote a version (operator key).', scope: 'admin', parameters: [{ name: 'task', in: 'path', description: 'task name', required: true }, { name: 'version', in: 'path', description: 'version number', required: true }] },
  { method: 'post', path: '/admin/tasks/{task}/rollback', summary: 'Re-promote the previous version (operator key).', scope: 'admin', parameters: [{ name: 'task', in: 'path', description: 'task name', required: true }] },
  { method: 'post', path: '/admin/distillations', summary: 'Start a distillation job from a dataset (job spec: teacher, student, training/validation data, task type, hyperparameters).', scope: 'admin' },
  { method: 'get', path: '/admin/distillations/{id}', summary: 'Status, progress and the evaluation report of a dataset distillation job.', scope: 'admin', parameters: [{ name: 'id', in: 'path', description: 'job id', required: true }] },
  { method: 'get', path: '/admin/reports/online', summary: 'Online A/B report from logged pairs (format=json|md|text).', scope: 'admin', parameters: [{ name: 'task', in: 'query', description: 'task' }, { name: 'since', in: 'query', description: 'ISO time' }, { name: 'until', in: 'query', description: 'ISO time' }, { name: 'format', in: 'query', description: 'json, md or text' }] },
  { method: 'get', path: '/dashboard', summary: 'HTML dashboard (asks for an admin key in the browser).', scope: 'public' },
  // Pair browser, feedback, trends and the console (src/http/pair-routes.ts, report-routes.ts).
  { method: 'get', path: '/admin/pairs', summary: 'Logged pairs, oldest first from `since`, with filters; a page ends after `limit` matches or 5,000 scanned records: follow `next_cursor` while `has_more`. A tenant key sees its own pairs only; an operator key may filter on a tenant.', scope: 'admin', parameters: [{ name: 'task', in: 'query', description: 'task (default: every task)' }, { name: 'verdict', in: 'query', description: 'agree, disagree or not_comparable' }, { name: 'arm', in: 'query', description: 'served arm: teacher or student' }, { name: 'reason', in: 'query', description: 'substring of the routing reason' }, { name: 'model', in: 'query', description: "either arm's model, e.g. intents@3" }, { name: 'tenant', in: 'query', description: 'operator keys only' }, { name: 'feedback', in: 'query', description: 'true: reviewed pairs only; false: unreviewed' }, { name: 'since', in: 'query', description: 'ISO time' }, { name: 'until', in: 'query', description: 'ISO time' }, { name: 'limit', in: 'query', description: '1-200 (default 50)' }, { name: 'cursor', in: 'query', description: 'next_cursor of the previous page' }] },
  { method: 'get', path: '/admin/pairs/{id}', summary: 'One pair: prompt, both answers, latency, cost, verdict and feedback. Another tenant\'s pair is a 404.', scope: 'admin', parameters: [{ name: 'id', in: 'path', description: 'pair id', required: true }, { name: 'task', in: 'query', description: 'task', required: true }, { name: 'tenant', in: 'query', description: 'required with an operator key' }] },
  { method: 'post', path: '/admin/pairs/{id}/feedback', summary: "Reviewer feedback on a pair: gold label (a classification task's label), thumbs, score 0-1, comment. The gold label outranks a dataset reference in accuracy (reports) and in dataset references (gates).", scope: 'admin', request: json(feedbackBody), parameters: [{ name: 'id', in: 'path', description: 'pair id', required: true }, { name: 'task', in: 'query', description: 'task', required: true }, { name: 'tenant', in: 'query', description: 'required with an operator key' }] },
  { method: 'get', path: '/admin/reports/trends', summary: 'The window in buckets (auto: at most 48), per task: traffic, student share, the agreement estimates with intervals, gold accuracy, cost and savings, errors, latency percentiles.', scope: 'admin', parameters: [{ name: 'task', in: 'query', description: 'task' }, { name: 'since', in: 'query', description: 'ISO time' }, { name: 'until', in: 'query', description: 'ISO time' }, { name: 'bucketInMs', in: 'query', description: '≥ 60000; default: automatic' }] },
  { method: 'get', path: '/console', summary: 'Operator console: overview, pairs, jobs, models (asks for an admin key in the browser). /dashboard is the same page.', scope: 'public' },
  { method: 'get', path: '/healthz', summary: 'Liveness.', scope: 'public' },
];

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      ...(op.scope === 'public' ? { security: [] } : { security: [{ bearer: [] }, { apiKey: [] }], 'x-distillery-scope': op.scope }),
      ...(op.parameters ? { parameters: op.parameters.map((p) => ({ ...p, schema: { type: 'string' } })) } : {}),
      ...(op.request ? { requestBody: { required: true, content: { 'application/json': { schema: op.request } } } } : {}),
      responses: {
        '200': { description: 'OK' },
        ...(op.scope === 'public' ? {} : { '401': { description: 'Missing or invalid key', content: { 'application/json': { schema: errorSchema } } } }),
        '4XX': { description: 'OpenAI-style error', content: { 'application/json': { schema: errorSchema } } },
        '5XX': { description: 'Upstream or server error', content: { 'application/json': { schema: errorSchema } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Distillery API', version: '0.1.0', description: 'OpenAI-compatible chat API with teacher/student routing, and the admin API for distillation jobs, models and reports.' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <key>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'api-key', description: 'Azure OpenAI style header' },
      },
    },
    paths,
  };
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function createOpenApiRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const doc = openApiDocument();
  app.get('/openapi.json', (c) => c.json(doc));
  app.get('/docs/api', (c) => {
    const rows = operations
      .map(
        (op) => `<section><h2><span class="m">${op.method.toUpperCase()}</span> <code>${escape(op.path)}</code> <small>${op.scope}</small></h2>
<p>${escape(op.summary)}</p>${op.parameters ? `<ul>${op.parameters.map((p) => `<li><code>${escape(p.name)}</code> (${p.in}) ${escape(p.description)}</li>`).join('')}</ul>` : ''}${op.request ? `<details><summary>Request body schema</summary><pre>${escape(JSON.stringify(op.request, null, 2))}</pre></details>` : ''}</section>`,
      )
      .join('\n');
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Distillery API</title><style>body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}h2{font-size:1rem;margin:1.5rem 0 .3rem}.m{display:inline-block;min-width:3.5rem;color:#fff;background:#356;padding:0 .4rem;border-radius:3px}small{color:#777;font-weight:normal}pre{background:#f4f4f4;padding:.6rem;overflow:auto;max-height:30rem}</style></head><body><h1>Distillery API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1, generated from the validation schemas). Authenticate with <code>Authorization: Bearer &lt;key&gt;</code> or <code>api-key</code>.</p>${rows}</body></html>`,
      200,
      { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'", 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' },
    );
  });
  return app;
}
