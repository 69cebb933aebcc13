import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { apiErrorMessage } from '../cli-api.js';
import type { ChatModel } from '../core/ports.js';
import { packageRoot } from '../package-root.js';
import { runServe, type RunningPlatform } from '../serve-command.js';
import type { Print } from './demo-output.js';

// The Distillery the demo drives: the one already running (`npm start`, so its console shows the
// demo's pairs and jobs), or, when none answers, one of its own on a free port with a temporary
// data folder that is deleted when the demo ends, Ctrl-C included. Either way the demo is a
// client of a URL: the chat API through the openai client, the admin API for jobs and reports.

export const DEMO_TASK = 'clinc150-intent';
export const DEFAULT_DEMO_URL = 'http://127.0.0.1:8787';

export interface DemoTarget {
  url: string;
  apiKey: string;
  /** Present when the demo started its own Distillery. */
  own?: { dataDir: string; platform: RunningPlatform };
  /** The admin API (JSON). */
  admin<T>(method: 'GET' | 'POST', route: string): Promise<T>;
  /** Own server only: pair records written now, not by the background writer's next batch. */
  flushPairs?(): Promise<void>;
  /** Own server only: the teacher asked directly (an evaluation: not traffic, no pair logged). */
  teacher?: ChatModel;
  /** Stops the own server and deletes its temporary folder; nothing for a running server. */
  close(): Promise<void>;
}

/** A refusal the user can act on (exit code 2, as the CLI's usage errors). */
export class DemoSetupError extends Error {
  readonly exitCode = 2;
}

export interface ResolveTargetOptions {
  /** The server to drive; probed unless `own`. */
  url?: string;
  /** True when the URL was given (flag or DISTILLERY_URL): then it must answer. */
  urlGiven?: boolean;
  key?: string;
  /** Start a Distillery of its own even if one is running. */
  own?: boolean;
  fast?: boolean;
  /** Own server's data folder (kept); by default a temporary one (deleted at the end). */
  dataDir?: string;
  /** Delete the temporary folder on SIGINT/SIGTERM and exit (the CLI; not tests). */
  handleSignals?: boolean;
  print: Print;
}

/** Whether a Distillery answers at `url` (its public health route), within two seconds. */
export async function probeDistillery(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json().catch(() => null)) as { status?: unknown } | null;
    return res.ok && typeof body?.status === 'string';
  } catch {
    return false;
  }
}

export async function resolveDemoTarget(o: ResolveTargetOptions): Promise<DemoTarget> {
  const url = (o.url ?? DEFAULT_DEMO_URL).replace(/\/+$/, '');
  if (o.own) {
    o.print('Starting a Distillery of its own for the demo (--own).');
    return startOwnTarget(o);
  }
  if (await probeDistillery(url)) return connectTarget(url, o.key, o.print);
  if (o.urlGiven) throw new DemoSetupError(`No Distillery answers at ${url}. Start it (npm start), fix --url / DISTILLERY_URL, or run the demo on a server of its own: npm run demo -- --own`);
  o.print(`No Distillery answers at ${url}, so the demo starts its own on a free port, with a temporary data folder deleted when it ends.`);
  o.print(`To see the demo in your server's console instead, start it first (npm start) and run: DISTILLERY_API_KEY=<its operator key> npm run demo`);
  return startOwnTarget(o);
}

function adminClient(url: string, apiKey: string): DemoTarget['admin'] {
  return async <T>(method: 'GET' | 'POST', route: string): Promise<T> => {
    const res = await fetch(new URL(route, url), { method, headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    if (!res.ok) {
      const message = apiErrorMessage(text);
      throw Object.assign(new Error(`${method} ${route}: HTTP ${res.status}: ${message}`), { status: res.status });
    }
    return JSON.parse(text) as T;
  };
}

/** A running Distillery: the key must be the operator's (or any admin key seeing the demo task). */
async function connectTarget(url: string, key: string | undefined, print: Print): Promise<DemoTarget> {
  if (!key) {
    throw new DemoSetupError(
      `A Distillery is running at ${url}; the demo drives it with an admin key. Pass the operator key it printed at its first start: ` +
        `DISTILLERY_API_KEY=dk-... npm run demo (or npm run demo -- --key dk-...). Only the key's hash is kept in its data folder (operator-key.json), ` +
        `so it cannot be read back; lost it? restart the server with --rotate-operator-key. Or run the demo on a server of its own: npm run demo -- --own`,
    );
  }
  const admin = adminClient(url, key);
  let tasks: { data: { name: string }[] };
  try {
    tasks = await admin<{ data: { name: string }[] }>('GET', '/admin/tasks');
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 401 || status === 403) throw new DemoSetupError(`The Distillery at ${url} refused the key (HTTP ${status}): the demo needs an admin key (the operator key it printed).`);
    throw err;
  }
  if (!tasks.data.some((t) => t.name === DEMO_TASK)) {
    throw new DemoSetupError(`The Distillery at ${url} does not serve the demo task '${DEMO_TASK}' (it serves: ${tasks.data.map((t) => t.name).join(', ') || 'none'}). Start it with the default configuration, or run: npm run demo -- --own`);
  }
  print(`Driving the Distillery at ${url}: its console (${url}/console) shows the demo's pairs and jobs as they come.`);
  return { url, apiKey: key, admin, close: async () => undefined };
}

/** Distillery on embedded defaults with the local demo teacher, in a folder of its own. */
async function startOwnTarget(o: ResolveTargetOptions): Promise<DemoTarget> {
  const temporary = o.dataDir === undefined;
  const dataDir = o.dataDir ?? mkdtempSync(path.join(tmpdir(), 'distillery-demo-'));
  const remove = () => {
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
  };
  o.print(`Embedded defaults (SQLite, local queue, local artifacts) in ${dataDir}${temporary ? ' (temporary: deleted when the demo ends)' : ''}`);
  let platform: RunningPlatform | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      try {
        await platform?.close({ deadlineInMs: 10_000 });
      } finally {
        remove();
        detach();
      }
    })());
  const detach = o.handleSignals ? removeOnSignal(o.print, dataDir, close, remove) : () => undefined;
  try {
    platform = await runServe({ env: ownServerEnv(dataDir, o.fast ?? false), embedded: true, quiet: true, compose: { studentRefreshInMs: 500 }, print: o.print });
  } catch (err) {
    remove();
    detach();
    throw err;
  }
  const d = platform.distillery;
  const config = d.tasks.get(DEMO_TASK)!.config;
  return {
    url: platform.url,
    apiKey: platform.apiKey!,
    own: { dataDir, platform },
    admin: adminClient(platform.url, platform.apiKey!),
    flushPairs: () => d.pairWriter.flush(),
    teacher: d.models.teacher(config),
    close,
  };
}

function ownServerEnv(dataDir: string, fast: boolean): Record<string, string | undefined> {
  return {
    ...process.env,
    DISTILLERY_DATA_DIR: dataDir,
    DISTILLERY_PORT: '0',
    DISTILLERY_API_KEYS: '',
    DISTILLERY_CONFIG_FILE: path.join(packageRoot(), 'data', 'distillery.config.json'),
    DISTILLERY_CONFIG_JSON: '',
    DISTILLERY_STORE: 'sqlite',
    DISTILLERY_QUEUE: 'local',
    DISTILLERY_ARTIFACTS: 'fs',
    DISTILLERY_ROTATE_OPERATOR_KEY: '',
    // Check the triggers every 2 s so the demo does not wait for the production cadence.
    DISTILLERY_REDISTILL_SCHEDULE: '*/2 * * * * *',
    DISTILLERY_DEMO_TEACHER_LATENCY_MS: fast ? '5' : '250',
    DISTILLERY_WORKER: 'true',
  };
}

/**
 * Ctrl-C (or SIGTERM) stops the own server and deletes its folder before exiting; a process that
 * exits any other way still deletes it (synchronously, in 'exit'). Returns the detach function.
 */
function removeOnSignal(print: Print, dataDir: string, close: () => Promise<void>, remove: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    print(`\n${signal}: stopping the demo's Distillery and deleting ${dataDir}`);
    setTimeout(() => process.exit(130), 15_000).unref();
    close().then(
      // A demo that finished (the CLI set exit code 0) and was only serving the console ends cleanly.
      () => process.exit(typeof process.exitCode === 'number' ? process.exitCode : signal === 'SIGINT' ? 130 : 143),
      () => process.exit(1),
    );
  };
  const onExit = () => {
    try {
      remove();
    } catch {
      /* exiting: nothing more to do */
    }
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
}
