// JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of what each route answers. They name the
// fields a client relies on and allow more (additionalProperties stays open): records grow
// without breaking generated clients.

type Schema = Record<string, unknown>;

const str = { type: 'string' };
const strOrNull = { type: ['string', 'null'] };
const int = { type: 'integer' };
const num = { type: 'number' };
const bool = { type: 'boolean' };
const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)): Schema => ({ type: 'object', required, properties });
export const listOf = (item: Schema, extra: Record<string, unknown> = {}): Schema =>
  obj({ object: { const: 'list' }, data: { type: 'array', items: item }, ...extra }, ['object', 'data', ...Object.keys(extra)]);

export const errorSchema = obj({ error: obj({ message: str, type: str, param: strOrNull, code: strOrNull }) });

export const chatCompletionSchema = obj(
  {
    id: str,
    object: { const: 'chat.completion' },
    created: int,
    model: str,
    choices: { type: 'array', items: obj({ index: int, message: obj({ role: { const: 'assistant' }, content: strOrNull }, ['role']), finish_reason: strOrNull, logprobs: {} }, ['index', 'message', 'finish_reason']) },
    usage: obj({ prompt_tokens: int, completion_tokens: int, total_tokens: int }),
  },
  ['id', 'object', 'created', 'model', 'choices'],
);

/** One `data:` event of a stream; the stream ends with `data: [DONE]`. */
export const chatChunkStreamSchema = { type: 'string', description: 'Server-sent events: `data: {chat.completion.chunk}` lines, then `data: [DONE]` (or an error object after the headers).' };

export const modelSchema = obj({ id: str, object: { const: 'model' }, created: int, owned_by: str, distillery: obj({ kind: str, teacher: str, student: strOrNull }, ['kind']) }, ['id', 'object', 'created', 'owned_by']);

export const taskSchemaView = obj({ name: str, teacher: str, routing: { type: 'object' }, distill: {} }, ['name', 'teacher', 'routing']);

export const jobSchema = obj({ object: str, id: str, task: str, kind: { enum: ['redistill', 'dataset'] }, state: str, createdAt: str }, ['id', 'task', 'kind', 'state']);
export const triggerResultSchema = obj({ created: bool, job: jobSchema });
export const distillationSchema = obj({ object: { const: 'distillation.job' }, id: str, task: str, status: str, stage1: {}, report: {}, gate: {} }, ['object', 'id', 'task', 'status']);
export const modelVersionSchema = obj({ task: str, version: int, state: str }, ['task', 'version', 'state']);

const armSummary = { type: ['object', 'null'] };
export const pairSummarySchema = obj({ object: { const: 'distillery.pair_summary' }, id: str, task: str, tenant: str, createdAt: str, servedArm: str, reason: str, verdict: {}, teacher: armSummary, student: armSummary }, ['object', 'id', 'task', 'tenant', 'createdAt', 'servedArm']);
export const pairPageSchema = listOf(pairSummarySchema, { has_more: bool, next_cursor: strOrNull, scanned: int });
export const pairDetailSchema = obj({ object: { const: 'distillery.pair' }, id: str, task: str, tenant: str, createdAt: str, request: { type: 'object' }, servedArm: str, feedback: {} }, ['object', 'id', 'task', 'tenant', 'createdAt', 'request', 'servedArm', 'feedback']);

export const onlineReportSchema = { type: 'object', description: 'format=json: the online report (per arm: traffic, agreement estimates with intervals, accuracy, latency, cost); md and text: the same as Markdown or a table.' };
export const trendsSchema = obj({ buckets: { type: 'array' } }, []);

const apiKeyView = { id: str, object: { const: 'api_key' }, tenant: str, scopes: { type: 'array', items: { enum: ['chat', 'admin', 'metrics'] } }, name: strOrNull, rate_per_second: { type: ['number', 'null'] }, created_at: str, last_used_at: strOrNull };
export const apiKeySchema = obj(apiKeyView);
export const createdApiKeySchema = obj({ ...apiKeyView, key: { type: 'string', description: 'The key, shown this once; only its SHA-256 is kept.' } });
export const deletedApiKeySchema = obj({ id: str, object: { const: 'api_key' }, deleted: { const: true } });
const tally = { requests: int, cost_usd: num, unpriced_calls: int };
export const apiKeyUsageSchema = obj({ object: { const: 'api_key.usage' }, key_id: str, since: str, until: str, ...tally, by_task: { type: 'object', additionalProperties: obj(tally) } });

export const healthSchema = obj({ status: { enum: ['ok', 'degraded'] } });
export const openApiSchema = obj({ openapi: str, info: { type: 'object' }, paths: { type: 'object' } });
export const htmlSchema = { type: 'string', description: 'HTML page' };
export const metricsSchema = { type: 'string', description: 'Prometheus text exposition format 0.0.4' };
export const jsonlSchema = { type: 'string', description: 'The file: JSON (manifest, report) or JSON Lines (examples, splits).' };
