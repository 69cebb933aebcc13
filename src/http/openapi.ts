import { Hono } from 'hono';
import { z } from 'zod';
import { chatCompletionRequestSchema } from '../core/chat/chat-request-schema.js';
import { distillationSpecSchema, inferenceParametersSchema } from '../core/distill/distillation-spec.js';
import type { AppEnv } from './create-app.js';
import { createKeyBody } from './key-routes.js';
import {
  apiKeySchema,
  apiKeyUsageSchema,
  azureMLDistillationJobSchema,
  distillationRequestSchema,
  chatCompletionSchema,
  createdApiKeySchema,
  deletedApiKeySchema,
  distillationSchema,
  errorSchema,
  healthSchema,
  htmlSchema,
  jobSchema,
  jsonlSchema,
  listOf,
  metricsSchema,
  modelSchema,
  modelVersionSchema,
  onlineReportSchema,
  openApiSchema,
  pairDetailSchema,
  pairPageSchema,
  taskSchemaView,
  trendsSchema,
  triggerResultSchema,
} from './openapi-schemas.js';
import { registerModelBody } from './model-registration.js';
import { feedbackBody } from './pair-routes.js';
import { emptyBody } from './request-bodies.js';

// The API description, built from the same zod schemas that validate requests, served as
// OpenAPI 3.1 at /openapi.json and as a plain, script-free page at /docs/api.

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

type Schema = Record<string, unknown>;
type Param = { name: string; in: 'path' | 'query' | 'header'; description: string; required?: boolean };

interface Operation {
  method: 'get' | 'post' | 'delete';
  path: string;
  summary: string;
  scope: 'chat' | 'admin' | 'metrics' | 'public';
  request?: Schema;
  /** The body may be left out (routes that take none accept nothing or `{}`). */
  requestOptional?: boolean;
  parameters?: Param[];
  /** Success statuses with their body schema and media type (default application/json). */
  ok: Record<string, { schema: Schema; type?: string; description?: string }>;
  /** Error statuses this route answers besides the authentication ones (401, 403, 429) and 5XX. */
  errors?: number[];
}

const path = (name: string, description: string): Param => ({ name, in: 'path', description, required: true });
const query = (name: string, description: string, required = false): Param => ({ name, in: 'query', description, ...(required ? { required } : {}) });
const window = [query('task', 'task'), query('since', 'ISO time'), query('until', 'ISO time')];
const noBody = { request: json(emptyBody), requestOptional: true } as const;
const jsonOk = (schema: Schema, description = 'OK') => ({ '200': { schema, description } });
const cascadeReportSchema: Schema = { type: 'object', required: ['tasks'], properties: { tasks: { type: 'array', items: { type: 'object', required: ['task', 'policy', 'versions'], properties: { task: { type: 'string' }, policy: { type: 'object' }, versions: { type: 'array', items: { type: 'object', required: ['id', 'version', 'state', 'threshold'], properties: { id: { type: 'string' }, version: { type: 'integer' }, state: { type: 'string' }, threshold: { type: ['number', 'null'] }, curve: { type: 'object' }, online: { type: 'object' } } } } } } } } };

const chatOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/chat/completions',
    summary: 'OpenAI-compatible chat completion (streaming with stream: true). `model` names a task; the router picks teacher or student.',
    scope: 'chat',
    request: json(chatCompletionRequestSchema),
    parameters: [{ name: 'x-distillery-force-arm', in: 'header', description: "Admin keys only: 'teacher' or 'student'." }],
    ok: { '200': { schema: chatCompletionSchema, description: 'The completion; with stream: true, text/event-stream of chunks ending in data: [DONE].' } },
    errors: [400, 404, 413],
  },
  { method: 'get', path: '/v1/models', summary: 'The models a chat may name: the routable tasks, each with the teacher and student behind it.', scope: 'chat', ok: jsonOk(listOf(modelSchema)) },
  { method: 'get', path: '/v1/models/{id}', summary: 'One task as a model (404 model_not_found for anything a chat cannot name).', scope: 'chat', parameters: [path('id', 'task name')], ok: jsonOk(modelSchema), errors: [404] },
];

const distillationRequest = distillationRequestSchema(json(distillationSpecSchema), azureMLDistillationJobSchema(json(inferenceParametersSchema)));

const jobOperations: Operation[] = [
  { method: 'get', path: '/admin/tasks', summary: 'Configured tasks with routing and distillation settings.', scope: 'admin', ok: jsonOk(listOf(taskSchemaView)) },
  { method: 'post', path: '/admin/tasks/{task}/distill', summary: 'Manual trigger: queue a distillation job (201), or record the trigger on the active job (200). Body: none or `{}`.', scope: 'admin', ...noBody, parameters: [path('task', 'task name')], ok: { '201': { schema: triggerResultSchema, description: 'Job queued' }, '200': { schema: triggerResultSchema, description: 'Recorded on the active job' } }, errors: [400, 404, 409] },
  { method: 'get', path: '/admin/jobs', summary: 'Distillation jobs, newest first.', scope: 'admin', parameters: [query('task', 'task'), query('state', 'job state'), query('limit', '1-500')], ok: jsonOk(listOf(jobSchema)), errors: [400, 404] },
  { method: 'get', path: '/admin/jobs/{id}', summary: 'One job: state, progress, steps, log, evaluation and gate decision; its lease (owner, expiry, live), deliveries, resumes, next retry, last error and any cancel request.', scope: 'admin', parameters: [path('id', 'job id')], ok: jsonOk(jobSchema), errors: [404] },
  { method: 'post', path: '/admin/jobs/{id}/cancel', summary: "Cancel an active job: its worker stops the running step and ends it `cancelled` (202 until it has; 200 once cancelled; 409 job_finished for a job that already ended). A tenant key may cancel only its own tenant's jobs (others: 404). Body: none or `{}`.", scope: 'admin', ...noBody, parameters: [path('id', 'job id')], ok: { '202': { schema: jobSchema, description: 'Cancel requested' }, '200': { schema: jobSchema, description: 'Cancelled' } }, errors: [400, 404, 409] },
  { method: 'get', path: '/admin/jobs/{id}/dataset/{file}', summary: "The versioned dataset a job built (manifest.json, examples.jsonl, train.jsonl, validation.jsonl, validation-report.json). With `format` (openai, azure-ml or messages), the examples of a split as fine-tuning JSONL: file train.jsonl, validation.jsonl, test.jsonl, or examples.jsonl for all. A 404 names the files the dataset has.", scope: 'admin', parameters: [path('id', 'job id'), path('file', 'file name'), query('format', 'openai, azure-ml or messages')], ok: { '200': { schema: jsonlSchema, type: 'application/jsonl' } }, errors: [400, 404] },
  { method: 'get', path: '/admin/tasks/{task}/models', summary: 'Student versions of a task with lineage and metrics.', scope: 'admin', parameters: [path('task', 'task name')], ok: jsonOk(listOf(modelVersionSchema)), errors: [404] },
  { method: 'post', path: '/admin/tasks/{task}/models', summary: 'Register an OpenAI-compatible endpoint (a local runtime: Foundry Local, Ollama, llama.cpp server, vLLM) as a new student version, promoted at once with `promote: true` (operator key). Its key, if any, is read from the app setting `apiKeySetting` names (DISTILLERY_STUDENT_KEY…), never sent in the body. Unless `probe: false`, the endpoint is probed first (GET {baseURL}/models, a 404 tolerated, then one short chat completion with the model); an unreachable endpoint, an unknown model, a key the runtime refuses or an `apiKeySetting` not set on the server is a 422 naming the field, and nothing is registered.', scope: 'admin', request: json(registerModelBody), parameters: [path('task', 'task name')], ok: { '201': { schema: modelVersionSchema, description: 'Registered' } }, errors: [400, 404, 413, 422] },
  { method: 'post', path: '/admin/tasks/{task}/models/{version}/promote', summary: 'Promote a version (operator key). Body: none or `{}`.', scope: 'admin', ...noBody, parameters: [path('task', 'task name'), path('version', 'version number')], ok: jsonOk(modelVersionSchema), errors: [400, 404, 409] },
  { method: 'post', path: '/admin/tasks/{task}/rollback', summary: 'Re-promote the previous version (operator key). Body: none or `{}`.', scope: 'admin', ...noBody, parameters: [path('task', 'task name')], ok: jsonOk(modelVersionSchema), errors: [400, 404, 409] },
  { method: 'post', path: '/admin/distillations', summary: 'Start a distillation job from a dataset (job spec: teacher, student, training/validation data, task type, hyperparameters; or an azure-ai-ml DistillationJob as JSON).', scope: 'admin', request: distillationRequest, ok: { '201': { schema: distillationSchema, description: 'Job queued' } }, errors: [400, 404, 409, 413] },
  { method: 'get', path: '/admin/distillations', summary: 'Dataset distillation jobs the key may see (newest first, at most 100).', scope: 'admin', ok: jsonOk(listOf(distillationSchema)) },
  { method: 'get', path: '/admin/distillations/{id}', summary: 'Status, progress and the evaluation report of a dataset distillation job.', scope: 'admin', parameters: [path('id', 'job id')], ok: jsonOk(distillationSchema), errors: [404] },
];

const pairOperations: Operation[] = [
  { method: 'get', path: '/admin/pairs', summary: 'Logged pairs, oldest first from `since`, with filters; a page ends after `limit` matches or 5,000 scanned records: follow `next_cursor` while `has_more`. A tenant key sees its own pairs only; an operator key may filter on a tenant.', scope: 'admin', parameters: [query('task', 'task (default: every task)'), query('verdict', 'agree, disagree or not_comparable'), query('arm', 'served arm: teacher or student'), query('reason', 'substring of the routing reason'), query('model', "either arm's model, e.g. intents@3"), query('tenant', 'operator keys only'), query('feedback', 'true: reviewed pairs only; false: unreviewed'), query('since', 'ISO time'), query('until', 'ISO time'), query('limit', '1-200 (default 50)'), query('cursor', 'next_cursor of the previous page')], ok: jsonOk(pairPageSchema), errors: [400, 404] },
  { method: 'get', path: '/admin/pairs/{id}', summary: "One pair: prompt, both answers, latency, cost, verdict and feedback. Another tenant's pair is a 404.", scope: 'admin', parameters: [path('id', 'pair id'), query('task', 'task', true), query('tenant', 'required with an operator key')], ok: jsonOk(pairDetailSchema), errors: [400, 404] },
  { method: 'post', path: '/admin/pairs/{id}/feedback', summary: "Reviewer feedback on a pair: gold label (a classification task's label), thumbs, score 0-1, comment. The gold label outranks a dataset reference in accuracy (reports) and in dataset references (gates).", scope: 'admin', request: json(feedbackBody), parameters: [path('id', 'pair id'), query('task', 'task', true), query('tenant', 'required with an operator key')], ok: jsonOk(pairDetailSchema), errors: [400, 404, 413] },
];

const reportOperations: Operation[] = [
  { method: 'get', path: '/admin/reports/online', summary: 'Online A/B report from logged pairs (format=json|md|text).', scope: 'admin', parameters: [...window, query('format', 'json, md or text')], ok: { '200': { schema: onlineReportSchema, description: 'JSON; text/markdown or text/plain with format=md|text' } }, errors: [400, 404] },
  { method: 'get', path: '/admin/reports/trends', summary: 'The window in buckets (auto: at most 48), per task: traffic, student share, the agreement estimates with intervals, gold accuracy, cost and savings, errors, latency percentiles.', scope: 'admin', parameters: [...window, query('bucketInMs', '≥ 60000; default: automatic')], ok: jsonOk(trendsSchema), errors: [400, 404] },
  { method: 'get', path: '/admin/reports/cascade', summary: "Per registry student version of each task (or `task`): its cascade τ, the risk-coverage curve its job measured on the test split with the chosen point, and for the serving version the online τ re-estimated from the random shadow sample with the shadow rows it rests on (operator keys only) and the adaptive shadow rate.", scope: 'admin', parameters: [query('task', 'task')], ok: jsonOk(cascadeReportSchema), errors: [400] },
  { method: 'get', path: '/admin/reports/tasks', summary: 'Task names the reports know (configured, and seen in pairs).', scope: 'admin', ok: jsonOk({ type: 'object', required: ['tasks'], properties: { tasks: { type: 'array', items: { type: 'string' } } } }) },
];

const keyOperations: Operation[] = [
  { method: 'post', path: '/admin/keys', summary: "Create an API key (operator key only). The key is in this answer only; the store keeps its SHA-256. Give `tenant`, or `operator: true` for another operator key.", scope: 'admin', request: json(createKeyBody), ok: { '201': { schema: createdApiKeySchema, description: 'Created' } }, errors: [400, 409, 413] },
  { method: 'get', path: '/admin/keys', summary: 'Keys created through the API: id, tenant, scopes, name, created, last used (never the key). Keys from DISTILLERY_API_KEYS are not listed.', scope: 'admin', ok: jsonOk(listOf(apiKeySchema)) },
  { method: 'get', path: '/admin/keys/{id}/usage', summary: "A key's requests and spend (cost of every arm call its requests caused, shadow calls included) from its pair records, over since..until (default: the last 30 days; at most 93).", scope: 'admin', parameters: [path('id', 'key id'), query('since', 'ISO time'), query('until', 'ISO time')], ok: jsonOk(apiKeyUsageSchema), errors: [400, 404] },
  { method: 'delete', path: '/admin/keys/{id}', summary: 'Revoke a key: it answers 401 at once on this instance, within 30 s on the others.', scope: 'admin', parameters: [path('id', 'key id')], ok: jsonOk(deletedApiKeySchema), errors: [404] },
];

const publicOperations: Operation[] = [
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics of this process (requests by route, task, arm and status; latency histogram; admission and pair-writer refusals; pair queue depth). Operator key or a metrics-scoped key.', scope: 'metrics', ok: { '200': { schema: metricsSchema, type: 'text/plain' } } },
  { method: 'get', path: '/dashboard', summary: 'HTML dashboard (asks for an admin key in the browser).', scope: 'public', ok: { '200': { schema: htmlSchema, type: 'text/html' } } },
  { method: 'get', path: '/console', summary: 'Operator console: overview, pairs, jobs, models (asks for an admin key in the browser). /dashboard is the same page.', scope: 'public', ok: { '200': { schema: htmlSchema, type: 'text/html' } } },
  { method: 'get', path: '/assets/{file}', summary: "The console's script, style sheet and chart library (chart.umd.js, dashboard.js, dashboard.css).", scope: 'public', parameters: [path('file', 'asset name')], ok: { '200': { schema: { type: 'string' }, type: 'text/javascript' } }, errors: [404] },
  { method: 'get', path: '/openapi.json', summary: 'This document.', scope: 'public', ok: jsonOk(openApiSchema) },
  { method: 'get', path: '/docs/api', summary: 'This document as a page.', scope: 'public', ok: { '200': { schema: htmlSchema, type: 'text/html' } } },
  { method: 'get', path: '/healthz', summary: 'Liveness; `degraded` (still 200) when pair records are refused or not spooled.', scope: 'public', ok: jsonOk(healthSchema) },
];

export const operations: Operation[] = [...chatOperations, ...jobOperations, ...pairOperations, ...reportOperations, ...keyOperations, ...publicOperations];

const AUTH_ERRORS: Record<number, string> = { 401: 'Missing or invalid key', 403: 'The key may not use this route', 429: 'Rate limit of the key, or failed authentications from this address' };
const ERROR_TEXT: Record<number, string> = { 400: 'Invalid request', 404: 'Not found', 409: 'Conflict', 413: 'Body too large', 422: 'Checked and refused (e.g. an endpoint probe)' };

/** The statuses a route documents (what the route test checks answers against). */
export function documentedStatuses(op: Operation): string[] {
  return [...Object.keys(op.ok), ...(op.scope === 'public' ? [] : Object.keys(AUTH_ERRORS)), ...(op.errors ?? []).map(String), '5XX'];
}

function responsesOf(op: Operation): Record<string, unknown> {
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  const out: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(op.ok)) out[status] = { description: r.description ?? 'OK', content: { [r.type ?? 'application/json']: { schema: r.schema } } };
  if (op.scope !== 'public') for (const [status, text] of Object.entries(AUTH_ERRORS)) out[status] = error(text);
  for (const status of op.errors ?? []) out[String(status)] = error(ERROR_TEXT[status] ?? 'Error');
  out['5XX'] = error('Upstream or server error (OpenAI-style error object; 503 with retry-after when overloaded)');
  return out;
}

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
      summary: op.summary,
      ...(op.scope === 'public' ? { security: [] } : { security: [{ bearer: [] }, { apiKey: [] }], 'x-distillery-scope': op.scope }),
      ...(op.parameters ? { parameters: op.parameters.map((p) => ({ ...p, schema: { type: 'string' } })) } : {}),
      ...(op.request ? { requestBody: { required: !op.requestOptional, content: { 'application/json': { schema: op.request } } } } : {}),
      responses: responsesOf(op),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Distillery API', version: '0.1.0', description: 'OpenAI-compatible chat API with teacher/student routing, and the admin API for distillation jobs, models, keys and reports.' },
    components: {
      schemas: { Error: errorSchema },
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
