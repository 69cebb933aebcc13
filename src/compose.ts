import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import { FilePairSpool } from './adapters/local/file-pair-spool.js';
import { createOpenAIModel } from './adapters/openai/create-openai-model.js';
import { SqlitePairStore } from './adapters/sqlite/sqlite-pair-store.js';
import type { Config } from './config.js';
import { DistilleryError } from './core/errors.js';
import { PairWriter } from './core/pairs/pair-writer.js';
import type { ChatModel, Clock, PairStore } from './core/ports.js';
import { systemClock } from './core/ports.js';
import { ChatGateway, type ModelResolver, type TaskRuntime } from './core/routing/chat-gateway.js';
import { CircuitBreakerChatModel } from './core/routing/circuit-breaker.js';
import type { TaskConfig } from './core/tasks/task-schema.js';
import { ApiKeyAuthenticator, generateApiKey, type ApiKeyRecord } from './http/api-key-auth.js';
import { createApp, type AppEnv, type MountedRoutes, type TaskCatalog } from './http/create-app.js';

// Builds every dependency from configuration — embedded defaults (SQLite, local queue, local
// folder) or Azure (Cosmos DB, Service Bus, Blob Storage) — and the app on top. The only place
// that knows which adapter implements which port.

export interface ComposeOptions {
  clock?: Clock;
  random?: () => number;
  /** Passed to every OpenAI-SDK client (tests, proxies). */
  fetch?: typeof fetch;
  /** Use this store instead of the configured one (tests, tools). */
  pairStore?: PairStore;
  /** When no keys are configured, generate one (standalone server). */
  generateKeyIfNone?: boolean;
  log?: (message: string) => void;
}

export interface Distillery {
  app: Hono<AppEnv>;
  config: Config;
  gateway: ChatGateway;
  pairStore: PairStore;
  pairWriter: PairWriter;
  tasks: TaskCatalog;
  models: ModelResolver;
  /** Keys generated at start (standalone server without configured keys), in clear, to print once. */
  generatedKeys: { tenant: string; key: string; scopes: string[] }[];
  close(): Promise<void>;
}

export function createTaskCatalog(tasks: readonly TaskConfig[], extend?: (task: TaskConfig) => TaskRuntime): TaskCatalog {
  const runtimes = new Map(tasks.map((t) => [t.name, extend ? extend(t) : { config: t }] as const));
  return { get: (name) => runtimes.get(name), list: () => [...runtimes.values()] };
}

export async function createDistillery(config: Config, options: ComposeOptions = {}): Promise<Distillery> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const { settings, document } = config;

  const dataDir = path.resolve(settings.DISTILLERY_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  const pairStore: PairStore = options.pairStore ?? new SqlitePairStore({ path: path.join(dataDir, 'distillery.db') });

  const modelCache = new Map<string, ChatModel>();
  const configuredModel = (id: string): ChatModel => {
    let m = modelCache.get(id);
    if (!m) {
      const settingsOfModel = document.models[id];
      if (!settingsOfModel) {
        throw new DistilleryError(`Model '${id}' is not configured.`, { status: 500, type: 'server_error', code: 'model_not_configured' });
      }
      // Every remote model gets its own circuit breaker: a dead upstream fails fast.
      m = new CircuitBreakerChatModel(createOpenAIModel(id, settingsOfModel, { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}) }), {
        clock,
        ...settingsOfModel.circuitBreaker,
      });
      modelCache.set(id, m);
    }
    return m;
  };
  const models: ModelResolver = {
    teacher: (task) => configuredModel(task.teacher),
    student: async (task) => {
      if (!task.student) return undefined;
      if (task.student.source === 'model') return configuredModel(task.student.model);
      return undefined;
    },
  };

  const tasks = createTaskCatalog(document.tasks);

  const pairWriter = new PairWriter({
    store: pairStore,
    spool: new FilePairSpool({ dir: settings.DISTILLERY_SPOOL_DIR ?? path.join(dataDir, 'pair-spool') }),
    onError: (err, n) => log(`pair store write of ${n} records failed, retrying: ${(err as Error).message}`),
  });

  const gateway = new ChatGateway({
    models,
    pairs: pairWriter,
    clock,
    random: options.random ?? Math.random,
    onBackgroundError: () => undefined,
  });

  const keys: ApiKeyRecord[] = [...config.apiKeys];
  const generatedKeys: Distillery['generatedKeys'] = [];
  if (keys.length === 0 && options.generateKeyIfNone) {
    const { key, record } = generateApiKey('default', ['chat', 'admin']);
    keys.push(record);
    generatedKeys.push({ tenant: record.tenant, key, scopes: record.scopes });
  }
  const auth = new ApiKeyAuthenticator(keys);
  const routes: MountedRoutes[] = [];

  const app = createApp({
    gateway,
    tasks,
    models,
    auth,
    clock,
    maxBodyBytes: settings.DISTILLERY_MAX_BODY_BYTES,
    corsOrigins: settings.DISTILLERY_CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    routes,
  });

  return {
    app,
    config,
    gateway,
    pairStore,
    pairWriter,
    tasks,
    models,
    generatedKeys,
    async close() {
      await pairWriter.close();
      await pairStore.close();
    },
  };
}
