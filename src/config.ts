import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { modelSettingsSchema } from './core/chat/model-settings.js';
import { taskSchema } from './core/tasks/task-schema.js';

// Configuration, parsed once from the environment (Azure Functions app settings, or the shell).
// Flat settings follow Functions conventions: a connection string under NAME, or identity-based
// NAME__accountEndpoint / NAME__fullyQualifiedNamespace / NAME__blobServiceUri with optional
// NAME__credential=managedidentity and NAME__clientId. Models, tasks and pricing are one JSON
// document (DISTILLERY_CONFIG_FILE or DISTILLERY_CONFIG_JSON); without one, the embedded demo
// configuration is used. docs/configuration.md is generated from `settingsSchema`.

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');
const int = (def: number) => z.coerce.number().int().positive().default(def);

export const documentSchema = z.object({
  models: z.record(z.string(), modelSettingsSchema).default({}),
  tasks: z.array(taskSchema).default([]),
  pricing: z.unknown().optional(),
});

const apiKeyEntrySchema = z.object({
  tenant: z.string().min(1).max(128),
  /** metrics: may read GET /metrics only (a Prometheus scraper's key). */
  scopes: z.array(z.enum(['chat', 'admin', 'metrics'])).min(1),
  /** Hex SHA-256 of the key: keys are stored hashed, never in clear. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex characters'),
  /** Token-bucket rate limit for this key, requests per second (burst = 2 s worth). */
  ratePerSecond: z.number().positive().optional(),
});

/** Every environment setting the app reads, with its default and meaning. */
export const settingsSchema = z.object({
  DISTILLERY_CONFIG_FILE: z.string().optional().describe('Path of the JSON document with models, tasks and pricing.'),
  DISTILLERY_CONFIG_JSON: z.string().optional().describe('The same JSON document inline (wins over the file).'),
  DISTILLERY_DATA_DIR: z.string().default('.data').describe('Folder for the embedded SQLite database and local artifacts.'),
  DISTILLERY_SPOOL_DIR: z
    .string()
    .optional()
    .describe('Folder of the durable outbox for pair records while the store is down (default <data dir>/pair-spool; local disk).'),
  DISTILLERY_PAIR_DURABILITY: z
    .enum(['batched', 'write-ahead'])
    .default('batched')
    .describe(
      'When a pair record is safe from a crash (kill -9). batched: written with its batch, at most ~10 ms plus one store write after the response (see RELIABILITY.md). write-ahead: the response ends only after the record is fsync\'ed to the outbox (zero loss, costs latency: see BENCHMARKS.md).',
    ),
  DISTILLERY_PAIR_QUEUE_MAX: int(10_000).describe('Pair records held in memory while the store and the outbox cannot take them; beyond it records are refused, counted and /healthz says degraded.'),
  DISTILLERY_SHUTDOWN_TIMEOUT_MS: int(10_000).describe('Graceful shutdown deadline (SIGTERM, Functions host shutdown): in-flight requests, idle keep-alive sockets, pair flush; the process exits within it.'),
  DISTILLERY_HOST: z.string().default('127.0.0.1').describe('Standalone server bind address.'),
  DISTILLERY_PORT: z.coerce.number().int().min(0).max(65535).default(8787).describe('Standalone server port (0 = any free port).'),
  DISTILLERY_API_KEYS: z
    .string()
    .optional()
    .describe('JSON array of {tenant, scopes: ["chat"|"admin"|"metrics"], sha256, ratePerSecond?} (metrics: a Prometheus scraper\'s key, GET /metrics only). Empty: the standalone server uses its operator key (made at the first start, its hash kept in the data folder). Keys can also be created with POST /admin/keys.'),
  DISTILLERY_ROTATE_OPERATOR_KEY: bool
    .default(false)
    .describe('Standalone server without DISTILLERY_API_KEYS: make a new operator key at this start (printed once) and retire the old one (`distillery serve --rotate-operator-key`).'),
  DISTILLERY_ACCESS_LOG: bool.default(true).describe('One structured log line per request (method, path, status, duration, task, arm, tenant, key id, request id; never prompt text).'),
  DISTILLERY_MAX_BODY_BYTES: int(4 * 1024 * 1024).describe('Largest accepted request body; larger bodies get 413 before they are read whole.'),
  DISTILLERY_CORS_ORIGINS: z.string().default('').describe('Comma-separated origins allowed by CORS; empty = CORS closed.'),
  DISTILLERY_MAX_IN_FLIGHT: z.coerce
    .number()
    .int()
    .min(0)
    .default(256)
    .describe('Chat requests in flight per process (streams until their last byte); beyond it 503 with retry-after, counted and logged. 0 = no cap.'),
  DISTILLERY_STORE: z.enum(['sqlite', 'cosmos']).default('sqlite').describe('Pair, job and model-registry store.'),
  DISTILLERY_QUEUE: z.enum(['local', 'servicebus']).default('local').describe('Distillation job queue.'),
  DISTILLERY_ARTIFACTS: z.enum(['fs', 'blob']).default('fs').describe('Artifact store for datasets and student models.'),
  CosmosDb: z.string().optional().describe('Cosmos DB connection string (AccountEndpoint=...;AccountKey=...).'),
  CosmosDb__accountEndpoint: z.string().url().optional().describe('Cosmos DB endpoint for identity-based access.'),
  CosmosDb__credential: z.enum(['managedidentity']).optional().describe('Use a managed identity for Cosmos DB.'),
  CosmosDb__clientId: z.string().optional().describe('Client id of the user-assigned identity for Cosmos DB.'),
  DISTILLERY_COSMOS_DATABASE: z.string().default('distillery').describe('Cosmos DB database name.'),
  DISTILLERY_PAIR_TTL_SECONDS: z.coerce.number().int().min(-1).default(-1).describe('Retention of pair records in Cosmos DB (-1 = forever).'),
  ServiceBusConnection: z.string().optional().describe('Service Bus connection string.'),
  ServiceBusConnection__fullyQualifiedNamespace: z.string().optional().describe('Service Bus namespace host for identity-based access.'),
  ServiceBusConnection__credential: z.enum(['managedidentity']).optional().describe('Use a managed identity for Service Bus.'),
  ServiceBusConnection__clientId: z.string().optional().describe('Client id of the user-assigned identity for Service Bus.'),
  DISTILLERY_JOBS_QUEUE: z.string().default('distill-jobs').describe('Service Bus queue of distillation jobs.'),
  DISTILLERY_JOB_MAX_DELIVERIES: int(5).describe('Deliveries of a job message before it is dead-lettered.'),
  ArtifactStorage: z.string().optional().describe('Storage connection string for artifacts.'),
  ArtifactStorage__blobServiceUri: z.string().url().optional().describe('Blob service URI for identity-based access.'),
  ArtifactStorage__credential: z.enum(['managedidentity']).optional().describe('Use a managed identity for Blob Storage.'),
  ArtifactStorage__clientId: z.string().optional().describe('Client id of the user-assigned identity for Blob Storage.'),
  DISTILLERY_ARTIFACT_CONTAINER: z.string().default('distillery-artifacts').describe('Blob container for artifacts.'),
  DISTILLERY_TEACHER_PROVIDER: z.enum(['openai', 'azure-openai']).optional().describe('Provider of the model `teacher` defined from settings.'),
  DISTILLERY_TEACHER_BASE_URL: z.string().url().optional().describe('OpenAI-compatible base URL of the teacher (Foundry, any provider).'),
  DISTILLERY_TEACHER_ENDPOINT: z.string().url().optional().describe('Azure OpenAI endpoint of the teacher.'),
  DISTILLERY_TEACHER_DEPLOYMENT: z.string().optional().describe('Azure OpenAI deployment or Foundry model name of the teacher.'),
  DISTILLERY_TEACHER_API_VERSION: z.string().optional().describe('Azure OpenAI API version.'),
  DISTILLERY_TEACHER_API_KEY: z.string().optional().describe('Teacher API key; leave empty to use Entra ID (DefaultAzureCredential).'),
  DISTILLERY_REDISTILL_SCHEDULE: z
    .string()
    .default('0 */5 * * * *')
    .describe('NCRONTAB (with seconds) of the trigger check: threshold, per-task schedule and drift.'),
  DISTILLERY_DEMO_TEACHER_LATENCY_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(300)
    .describe('Mean simulated latency of the built-in demo teacher (a remote LLM stands behind it in production).'),
  DISTILLERY_WORKER: bool.default(true).describe('Run the job worker and scheduler in the standalone process.'),
  DISTILLERY_WORKER_THREAD: bool
    .default(true)
    .describe('Run that job worker and scheduler on a worker thread of their own, so dataset builds and evaluation never hold the serving thread.'),
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.string().optional().describe('Enables OpenTelemetry export to Application Insights.'),
});

export type Settings = z.infer<typeof settingsSchema>;
export type ConfigDocument = z.infer<typeof documentSchema>;
export type ApiKeyEntry = z.infer<typeof apiKeyEntrySchema>;

export interface Config {
  settings: Settings;
  document: ConfigDocument;
  apiKeys: ApiKeyEntry[];
  /** The raw environment, for settings named inside the document (apiKeySetting). */
  env: Readonly<Record<string, string | undefined>>;
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n- ${issues.join('\n- ')}`);
    this.name = 'ConfigError';
  }
}

function formatIssues(prefix: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.')}: ${i.message}`);
}

/** The embedded defaults: the CLINC150 demo task against the local demo teacher. */
export const DEFAULT_DOCUMENT_PATH = 'data/distillery.config.json';

export function loadConfig(env: Readonly<Record<string, string | undefined>>, options: { cwd?: string } = {}): Config {
  // Empty strings are "unset" (Functions app settings often exist but are blank).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = settingsSchema.safeParse(cleaned);
  if (!parsed.success) throw new ConfigError(formatIssues('', parsed.error));
  const settings = parsed.data;
  const document = readDocument(settings, options.cwd ?? process.cwd());
  applyFlatTeacherSettings(document, settings);

  // Every remaining problem is collected, so one start-up error lists them all.
  const issues = checkDocument(document, cleaned);
  const apiKeys = parseApiKeys(settings, issues);
  issues.push(...checkBackendSettings(settings));
  if (issues.length) throw new ConfigError(issues);
  return { settings, document, apiKeys, env: cleaned };
}

/** The configuration document, inline (DISTILLERY_CONFIG_JSON) or from its file. */
function readDocument(settings: Settings, cwd: string): ConfigDocument {
  let raw: unknown = {};
  try {
    if (settings.DISTILLERY_CONFIG_JSON) raw = JSON.parse(settings.DISTILLERY_CONFIG_JSON);
    else {
      const file = settings.DISTILLERY_CONFIG_FILE ?? DEFAULT_DOCUMENT_PATH;
      raw = JSON.parse(readFileSync(path.resolve(cwd, file), 'utf8'));
    }
  } catch (err) {
    const where = settings.DISTILLERY_CONFIG_JSON ? 'DISTILLERY_CONFIG_JSON' : 'DISTILLERY_CONFIG_FILE';
    throw new ConfigError([`${where}: ${(err as Error).message}`]);
  }
  const doc = documentSchema.safeParse(raw);
  if (!doc.success) throw new ConfigError(formatIssues('config', doc.error));
  return doc.data;
}

/** A teacher defined by flat settings (what the Bicep template sets) overrides model `teacher`. */
function applyFlatTeacherSettings(document: ConfigDocument, settings: Settings): void {
  if (!settings.DISTILLERY_TEACHER_BASE_URL && !settings.DISTILLERY_TEACHER_ENDPOINT) return;
  const provider = settings.DISTILLERY_TEACHER_PROVIDER ?? (settings.DISTILLERY_TEACHER_ENDPOINT ? 'azure-openai' : 'openai');
  document.models.teacher = modelSettingsSchema.parse({
    ...document.models.teacher,
    provider,
    baseURL: settings.DISTILLERY_TEACHER_BASE_URL,
    endpoint: settings.DISTILLERY_TEACHER_ENDPOINT,
    deployment: settings.DISTILLERY_TEACHER_DEPLOYMENT,
    model: settings.DISTILLERY_TEACHER_DEPLOYMENT ?? document.models.teacher?.model,
    ...(settings.DISTILLERY_TEACHER_API_VERSION ? { apiVersion: settings.DISTILLERY_TEACHER_API_VERSION } : {}),
    auth: settings.DISTILLERY_TEACHER_API_KEY ? 'key' : 'entra',
    apiKeySetting: settings.DISTILLERY_TEACHER_API_KEY ? 'DISTILLERY_TEACHER_API_KEY' : undefined,
  });
}

/** Models reachable and keyed, tasks uniquely named and pointing at defined models. */
function checkDocument(document: ConfigDocument, env: Record<string, string | undefined>): string[] {
  const issues: string[] = [];
  for (const [id, m] of Object.entries(document.models)) {
    if (m.provider === 'azure-openai' && !m.endpoint && !m.baseURL) issues.push(`config.models.${id}: azure-openai needs endpoint`);
    if (m.provider === 'openai' && !m.baseURL && !m.builtin) issues.push(`config.models.${id}.baseURL: required for provider openai`);
    if (m.auth === 'key' && m.apiKeySetting && !env[m.apiKeySetting]) {
      issues.push(`${m.apiKeySetting}: setting named by config.models.${id}.apiKeySetting is not set`);
    }
  }
  const names = new Set<string>();
  for (const t of document.tasks) {
    if (names.has(t.name)) issues.push(`config.tasks: duplicate task name '${t.name}'`);
    names.add(t.name);
    if (!document.models[t.teacher]) issues.push(`config.tasks.${t.name}.teacher: unknown model '${t.teacher}'`);
    if (t.student?.source === 'model' && !document.models[t.student.model]) {
      issues.push(`config.tasks.${t.name}.student.model: unknown model '${t.student.model}'`);
    }
  }
  return issues;
}

/** DISTILLERY_API_KEYS, a JSON array; its problems are added to `issues`. */
function parseApiKeys(settings: Settings, issues: string[]): ApiKeyEntry[] {
  if (!settings.DISTILLERY_API_KEYS) return [];
  try {
    const keys = z.array(apiKeyEntrySchema).safeParse(JSON.parse(settings.DISTILLERY_API_KEYS));
    if (keys.success) return keys.data;
    issues.push(...formatIssues('DISTILLERY_API_KEYS', keys.error));
  } catch (err) {
    issues.push(`DISTILLERY_API_KEYS: ${(err as Error).message}`);
  }
  return [];
}

/** Each Azure backend chosen needs its connection (a connection string or an identity-based endpoint). */
function checkBackendSettings(settings: Settings): string[] {
  const issues: string[] = [];
  if (settings.DISTILLERY_STORE === 'cosmos' && !settings.CosmosDb && !settings.CosmosDb__accountEndpoint) {
    issues.push('CosmosDb: DISTILLERY_STORE=cosmos needs CosmosDb or CosmosDb__accountEndpoint');
  }
  if (settings.DISTILLERY_QUEUE === 'servicebus' && !settings.ServiceBusConnection && !settings.ServiceBusConnection__fullyQualifiedNamespace) {
    issues.push('ServiceBusConnection: DISTILLERY_QUEUE=servicebus needs ServiceBusConnection or ServiceBusConnection__fullyQualifiedNamespace');
  }
  if (settings.DISTILLERY_ARTIFACTS === 'blob' && !settings.ArtifactStorage && !settings.ArtifactStorage__blobServiceUri) {
    issues.push('ArtifactStorage: DISTILLERY_ARTIFACTS=blob needs ArtifactStorage or ArtifactStorage__blobServiceUri');
  }
  return issues;
}
