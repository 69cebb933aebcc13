import path from 'node:path';
import { startBackgroundWorkInThread } from './compose/background-work-thread.js';
import { createDistillery, type BackgroundWork, type ComposeOptions, type Distillery } from './compose/index.js';
import { loadConfig, type Config } from './config.js';
import { FsArtifactStore } from './adapters/local/fs-artifact-store.js';
import { loadDemoTeacherModel, startDemoTeacherServer, type DemoTeacherServer } from './adapters/onnx/demo-teacher.js';
import type { TrainingProgress } from './adapters/onnx/train-student.js';
import { packageRoot } from './package-root.js';
import { listen, type RunningServer } from './http/listen.js';
import { startTelemetry } from './telemetry.js';

// `npm start` / `distillery serve`: start the platform on the configured (by default embedded)
// adapters — built-in demo teacher, job worker and trigger scheduler included — print where it
// listens and the key to use, and shut down cleanly (pairs flushed) on SIGINT/SIGTERM.

export interface ServeOptions {
  env?: Record<string, string | undefined>;
  port?: number;
  host?: string;
  /** Do not install signal handlers (tests, the demo command). */
  embedded?: boolean;
  /** Do not print the "Try:" examples. */
  quiet?: boolean;
  compose?: ComposeOptions;
  print?: (line: string) => void;
}

export interface RunningPlatform extends RunningServer {
  distillery: Distillery;
  /** A key with chat and admin scope (generated when none is configured). */
  apiKey?: string;
  /** Graceful shutdown within the deadline (default DISTILLERY_SHUTDOWN_TIMEOUT_MS). */
  close(options?: { deadlineInMs?: number }): Promise<void>;
}

/** Resolves with the step's result, or at the deadline (the step goes on, unawaited). */
function within(deadline: number, step: Promise<unknown>): Promise<unknown> {
  return Promise.race([step, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
}

/**
 * The shutdown sequence, all within one deadline: stop accepting and answer what is in flight
 * with `Connection: close` (60% of the time), then flush pair records — those of answered
 * responses still being built included — spooling what the store does not take in time, then
 * stop background work and close stores.
 */
async function shutDown(p: {
  server: RunningServer;
  work: BackgroundWork | undefined;
  distillery: Distillery;
  builtins: DemoTeacherServer[];
  telemetry: { shutdown(): Promise<void> } | undefined;
  deadlineInMs: number;
}): Promise<void> {
  const deadline = Date.now() + p.deadlineInMs;
  const left = () => Math.max(0, deadline - Date.now());
  await p.server.close({ deadlineInMs: left() * 0.6 });
  await p.distillery.pairWriter.close({ deadlineInMs: left() * 0.75 });
  await within(deadline - 100, (async () => {
    await p.work?.stop();
    await p.distillery.close();
    for (const b of p.builtins) await b.close();
    await p.telemetry?.shutdown();
  })());
}

/** A port already taken is the usual first-run failure: say which setting moves it. */
export function explainListenError(err: unknown, host: string, port: number): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return err;
  const why = code === 'EADDRINUSE' ? 'is already in use (another Distillery, or another server)' : 'may not be opened by this user';
  return Object.assign(new Error(`Port ${port} on ${host} ${why} (${code}). Stop the other server, or choose another port: DISTILLERY_PORT=8788 npm start (DISTILLERY_PORT=0 picks a free one).`), { code, cause: err });
}

/**
 * Progress of the demo teacher's one-time training (a minute or more on a busy machine): a line per
 * epoch, a line every 15 s while an epoch runs, and the total at the end. The loader logs once,
 * when it starts training (a cached teacher logs nothing), which starts the clock.
 */
function teacherTrainingProgress(print: (line: string) => void) {
  let started: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let where = 'preparing the features';
  const elapsed = () => `${Math.round((Date.now() - started!) / 1000)} s`;
  return {
    log(message: string) {
      print(message);
      started ??= Date.now();
      timer ??= setInterval(() => print(`  demo teacher: still training, ${where} (${elapsed()})`), 15_000).unref();
    },
    onProgress(p: TrainingProgress) {
      where = p.epoch < p.epochs ? `epoch ${p.epoch + 1} of ${p.epochs} running` : 'saving';
      print(`  demo teacher: epoch ${p.epoch}/${p.epochs} done, train loss ${p.trainLoss.toFixed(3)} (${Math.round(p.fraction * 100)}%, ${elapsed()})`);
    },
    done(cacheRoot: string) {
      clearInterval(timer);
      if (started !== undefined) print(`  demo teacher: trained in ${elapsed()}, cached in ${cacheRoot} (later starts load it at once)`);
    },
  };
}

/** Starts the models the configuration marks as built in, and points the config at them. */
export async function startBuiltinModels(
  config: Config,
  print: (line: string) => void,
  // One cache per checkout, whatever the data folder: the teacher is the same for every run.
  cacheRoot = path.join(packageRoot(), '.data', 'demo-teacher-cache'),
): Promise<DemoTeacherServer[]> {
  const started: DemoTeacherServer[] = [];
  for (const [id, model] of Object.entries(config.document.models)) {
    if (model.builtin !== 'demo-teacher') continue;
    const progress = teacherTrainingProgress(print);
    const onnx = await loadDemoTeacherModel({
      cache: new FsArtifactStore({ root: cacheRoot }),
      dataRoot: path.join(packageRoot(), 'data'),
      log: progress.log,
      onProgress: progress.onProgress,
    }).finally(() => progress.done(cacheRoot));
    const mean = config.settings.DISTILLERY_DEMO_TEACHER_LATENCY_MS;
    const server = await startDemoTeacherServer({ model: onnx, latencyInMs: { min: mean * 0.75, max: mean * 1.25 } });
    model.baseURL = server.baseURL;
    print(`Demo teacher '${id}' (local stand-in for DeepSeek-V3 / GPT-4o) at ${server.baseURL}`);
    started.push(server);
  }
  return started;
}

/** Compose options that are plain settings can be re-created on another thread; injected objects (stores, clocks, fetch) cannot. */
function crossesThreads(compose: ComposeOptions | undefined): boolean {
  const { studentRefreshInMs: _r, generateKeyIfNone: _g, log: _l, ...injected } = compose ?? {};
  return Object.keys(injected).length === 0;
}

export async function runServe(options: ServeOptions = {}): Promise<RunningPlatform> {
  const print = options.print ?? ((line: string) => console.log(line));
  const config = loadConfig(options.env ?? process.env);
  // Exported only when Application Insights is configured; otherwise spans and metrics are no-ops.
  const telemetry = config.settings.APPLICATIONINSIGHTS_CONNECTION_STRING ? await startTelemetry(config.env) : undefined;
  const builtins = await startBuiltinModels(config, print);
  const distillery = await createDistillery(config, { generateKeyIfNone: true, log: (m) => print(m), ...options.compose });
  // Promoted in-process students load in the background, off the first request (issue 21).
  void distillery.preloadStudents();
  let work: BackgroundWork | undefined;
  if (config.settings.DISTILLERY_WORKER) {
    work = config.settings.DISTILLERY_WORKER_THREAD && crossesThreads(options.compose)
      ? await startBackgroundWorkInThread({ env: { ...config.env, DISTILLERY_CONFIG_JSON: JSON.stringify(config.document) }, log: print })
      : distillery.startBackgroundWork();
  }
  // Without configured keys the generated key must not be reachable from the network.
  const host = distillery.generatedKeys.length ? '127.0.0.1' : (options.host ?? config.settings.DISTILLERY_HOST);
  const port = options.port ?? config.settings.DISTILLERY_PORT;
  const server = await listen(distillery.app, { host, port }).catch(async (err: unknown) => {
    // Nothing listens: stop what was started, so the process exits with the explanation.
    await work?.stop();
    await distillery.close();
    for (const b of builtins) await b.close();
    await telemetry?.shutdown();
    throw explainListenError(err, host, port);
  });
  const apiKey = distillery.generatedKeys[0]?.key;

  print(`Distillery is listening on ${server.url}  (console: ${server.url}/console, API reference: ${server.url}/docs/api)`);
  for (const k of distillery.generatedKeys) {
    if (k.key) print(`API key (operator, scopes ${k.scopes.join('+')}), shown once; only its hash is kept (${k.file}): ${k.key}`);
    else print(`Operator key: the one printed when it was made (${k.createdAt}); its hash is in ${k.file}. Lost it? Restart with --rotate-operator-key (DISTILLERY_ROTATE_OPERATOR_KEY=true).`);
  }
  if (!options.quiet) {
    const firstTask = distillery.tasks.list()[0]?.config.name ?? '<task>';
    const key = apiKey ?? '$DISTILLERY_API_KEY';
    print('Try:');
    print(`  curl -s ${server.url}/v1/chat/completions -H "Authorization: Bearer ${key}" -H "content-type: application/json" \\`);
    print(`    -d '{"model":"${firstTask}","messages":[{"role":"user","content":"what is my account balance"}]}'`);
    print(`  DISTILLERY_URL=${server.url} DISTILLERY_API_KEY=${key} npx distillery jobs --watch`);
    // The demo drives this server (its console then shows the demo) when given its key.
    print(`  DISTILLERY_URL=${server.url} DISTILLERY_API_KEY=${key} npm run demo    # CLINC150 traffic through this server's loop, then the A/B report`);
  }

  let closing: Promise<void> | undefined;
  const close = (o?: { deadlineInMs?: number }) =>
    (closing ??= shutDown({ server, work, distillery, builtins, telemetry, deadlineInMs: o?.deadlineInMs ?? config.settings.DISTILLERY_SHUTDOWN_TIMEOUT_MS }));
  if (!options.embedded) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        const deadlineInMs = config.settings.DISTILLERY_SHUTDOWN_TIMEOUT_MS;
        print(`\n${signal}: finishing in-flight requests, flushing pair records, exiting within ${deadlineInMs} ms`);
        // The deadline holds even if a step hangs: an orchestrator's SIGKILL would lose more.
        setTimeout(() => {
          print(`shutdown deadline of ${deadlineInMs} ms reached: exiting`);
          process.exit(1);
        }, deadlineInMs).unref();
        close({ deadlineInMs }).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  }
  return { ...server, distillery, ...(apiKey ? { apiKey } : {}), close };
}
