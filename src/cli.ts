#!/usr/bin/env node
import { Command, Option } from 'commander';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from './config.js';

// `distillery`: the command line. `serve`, `demo` and `config check` run locally; every other
// command is a client of a running Distillery's admin API (--url / DISTILLERY_URL, --key /
// DISTILLERY_API_KEY), so the same commands work against the standalone server and an Azure
// deployment. Exit codes: 0 ok, 1 unexpected failure, 2 bad usage or configuration, 3 the API
// refused or failed, 4 a distillation job failed or was rejected.

export const EXIT = { ok: 0, failure: 1, usage: 2, api: 3, jobNotPromoted: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface ApiOptions {
  url: string;
  key?: string;
  json?: boolean;
}

async function api<T>(opts: ApiOptions, method: string, path: string, body?: unknown): Promise<T> {
  if (!opts.key) throw new CliError('No API key: pass --key or set DISTILLERY_API_KEY.', EXIT.usage);
  let res: Response;
  try {
    res = await fetch(new URL(path, opts.url), {
      method,
      headers: { authorization: `Bearer ${opts.key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new CliError(`Cannot reach ${opts.url}: ${(err as Error).message}`, EXIT.api);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      /* not JSON: keep the text */
    }
    throw new CliError(`HTTP ${res.status}: ${message}`, EXIT.api);
  }
  // Exactly application/json: JSONL (application/jsonl) is many documents, returned as text.
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  return (type === 'application/json' ? JSON.parse(text) : text) as T;
}

function apiOptions(cmd: Command): ApiOptions {
  return cmd.optsWithGlobals() as ApiOptions;
}

function out(opts: { json?: boolean }, value: unknown, human: () => string) {
  console.log(opts.json ? JSON.stringify(value, null, 2) : human());
}

interface JobView {
  id: string;
  task: string;
  state: string;
  outcome?: string;
  progress: number;
  trigger: { type: string; detail?: string };
  createdAt: string;
  log: { at: string; message: string }[];
  error?: { message: string };
}

const jobLine = (j: JobView) =>
  `${j.id.padEnd(28)} ${j.state.padEnd(17)} ${(j.outcome ?? '').padEnd(9)} ${String(Math.round(j.progress * 100)).padStart(3)}%  ${j.trigger.type.padEnd(9)} ${j.createdAt}`;

interface JobDetail extends JobView {
  lease: { owner: string; expiresAt: string; live: boolean } | null;
  deliveries: number;
  resumes: number;
  nextRetryAt: string | null;
  lastError: { code: string; message: string; at: string } | null;
  cancelRequested: { at: string; by?: string } | null;
}

const jobDetailText = (j: JobDetail) =>
  [
    jobLine(j),
    `  lease        ${j.lease ? `${j.lease.owner} until ${j.lease.expiresAt}${j.lease.live ? '' : ' (expired)'}` : '-'}`,
    `  deliveries   ${j.deliveries}   resumes ${j.resumes}`,
    `  next retry   ${j.nextRetryAt ?? '-'}`,
    `  last error   ${j.lastError ? `${j.lastError.code}: ${j.lastError.message} (${j.lastError.at})` : '-'}`,
    ...(j.cancelRequested ? [`  cancel       requested ${j.cancelRequested.at}${j.cancelRequested.by ? ` by ${j.cancelRequested.by}` : ''}`] : []),
    ...(j.error ? [`  error        ${j.error.message}`] : []),
    ...j.log.slice(-10).map((l) => `  ${l.at}  ${l.message}`),
  ].join('\n');

async function watchJob(opts: ApiOptions, id: string): Promise<JobView> {
  let seen = 0;
  for (;;) {
    const job = await api<JobView>(opts, 'GET', `/admin/jobs/${encodeURIComponent(id)}`);
    for (const entry of job.log.slice(seen)) if (!opts.json) console.log(`  ${entry.at}  ${entry.message}`);
    seen = job.log.length;
    if (job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled') return job;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function buildCli(): Command {
  const program = new Command('distillery')
    .description('Serve, evaluate and continuously distill teacher LLMs into small students behind an OpenAI-compatible API.')
    .addOption(new Option('--url <url>', 'Distillery base URL').env('DISTILLERY_URL').default('http://127.0.0.1:8787'))
    .addOption(new Option('--key <key>', 'API key with the admin scope').env('DISTILLERY_API_KEY'))
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    // Set before the subcommands exist so they inherit it: main() maps commander's exits to ours.
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  npx distillery serve\n  npx distillery demo\n  DISTILLERY_API_KEY=dk-... npx distillery jobs --watch\n');

  program
    .command('serve')
    .description('Start Distillery on the configured (by default embedded) adapters.')
    .option('-p, --port <port>', 'port (0 = any free port)')
    .addHelpText('after', '\nExamples:\n  npx distillery serve\n  DISTILLERY_CONFIG_FILE=my.config.json npx distillery serve --port 9000\n')
    .action(async (o: { port?: string }) => {
      const { runServe } = await import('./serve-command.js');
      await runServe(o.port !== undefined ? { port: Number(o.port) } : {});
    });

  program
    .command('demo')
    .description('Run the whole loop on CLINC150 with the local demo teacher and print the A/B report.')
    .option('--fast', 'CI mode: fast teacher, fewer unseen prompts, exits at the end')
    .option('--exit', 'exit after the report instead of keeping the dashboard up')
    .addHelpText('after', '\nExamples:\n  npm run demo\n  npx distillery demo --fast --json\n')
    .action(async (o: { fast?: boolean; exit?: boolean }, cmd: Command) => {
      const { runDemo } = await import('./demo/run-demo.js');
      const g = apiOptions(cmd);
      const result = await runDemo({ fast: o.fast ?? false, ...(g.json ? { print: () => undefined } : {}) });
      if (g.json) console.log(JSON.stringify({ job: result.job.id, outcome: result.job.outcome, promotedVersion: result.promotedVersion, unseen: result.unseen }, null, 2));
      if (o.fast || o.exit) {
        await result.platform.close();
        return;
      }
      console.log('Serving until Ctrl-C.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await result.platform.close();
    });

  program
    .command('distill')
    .description('Start a distillation job for a task now (manual trigger), or from a job spec file.')
    .argument('[task]', 'task name')
    .option('--spec <file>', 'distillation job spec (JSON) with its own training data')
    .option('--wait', 'follow the job until it ends; exit 4 unless a student is promoted')
    .addHelpText('after', '\nExamples:\n  npx distillery distill clinc150-intent --wait\n  npx distillery distill --spec nli-job.json\n')
    .action(async (task: string | undefined, o: { spec?: string; wait?: boolean }, cmd: Command) => {
      const g = apiOptions(cmd);
      let job: JobView;
      if (o.spec) {
        const spec = JSON.parse(readFileSync(o.spec, 'utf8'));
        job = await api<JobView>(g, 'POST', '/admin/distillations', spec);
      } else {
        if (!task) throw new CliError('Name a task, or pass --spec.', EXIT.usage);
        const r = await api<{ created: boolean; job: JobView }>(g, 'POST', `/admin/tasks/${encodeURIComponent(task)}/distill`);
        job = r.job;
        if (!g.json) console.log(r.created ? `queued ${job.id}` : `a job is already running for ${task}: ${job.id} (trigger recorded)`);
      }
      if (o.wait) job = await watchJob(g, job.id);
      out(g, job, () => jobLine(job));
      if (o.wait && job.outcome !== 'promoted') throw new CliError(`Job ${job.id} ended ${job.state}${job.outcome ? ` (${job.outcome})` : ''}${job.error ? `: ${job.error.message}` : ''}`, EXIT.jobNotPromoted);
    });

  const jobs = program
    .command('jobs')
    .description('List distillation jobs (newest first); `jobs cancel <id>`, `jobs show <id>`.')
    .option('--task <task>', 'only this task')
    .option('--state <state>', 'only this state')
    .option('--watch', 'refresh every 2 s until Ctrl-C')
    .addHelpText('after', '\nExamples:\n  npx distillery jobs\n  npx distillery jobs --task clinc150-intent --watch\n')
    .action(async (o: { task?: string; state?: string; watch?: boolean }, cmd: Command) => {
      const g = apiOptions(cmd);
      const query = new URLSearchParams({ ...(o.task ? { task: o.task } : {}), ...(o.state ? { state: o.state } : {}) });
      for (;;) {
        const list = await api<{ data: JobView[] }>(g, 'GET', `/admin/jobs?${query}`);
        if (o.watch && !g.json) process.stdout.write('\x1b[2J\x1b[H');
        out(g, list.data, () => [`${'job'.padEnd(28)} ${'state'.padEnd(17)} ${'outcome'.padEnd(9)} prog  trigger   created`, ...list.data.map(jobLine)].join('\n'));
        if (!o.watch) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    });

  jobs
    .command('cancel')
    .argument('<id>', 'job id, e.g. clinc150-intent.3')
    .description("Cancel an active job: its worker stops the running step and ends it 'cancelled'.")
    .option('--wait', 'wait until the job has ended')
    .addHelpText('after', '\nExamples:\n  npx distillery jobs cancel clinc150-intent.3\n  npx distillery jobs cancel support.7 --wait\n')
    .action(async (id: string, o: { wait?: boolean }, cmd: Command) => {
      const g = apiOptions(cmd);
      let job = await api<JobView>(g, 'POST', `/admin/jobs/${encodeURIComponent(id)}/cancel`);
      if (o.wait) job = await watchJob(g, job.id);
      out(g, job, () => (job.state === 'cancelled' ? `cancelled ${jobLine(job)}` : `cancel requested ${jobLine(job)}`));
    });
  jobs
    .command('show')
    .argument('<id>', 'job id')
    .description('One job: state, lease, deliveries, next retry, last error and log.')
    .addHelpText('after', '\nExample:\n  npx distillery jobs show clinc150-intent.3\n')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = apiOptions(cmd);
      const job = await api<JobDetail>(g, 'GET', `/admin/jobs/${encodeURIComponent(id)}`);
      out(g, job, () => jobDetailText(job));
    });

  const models = program.command('models').description('Student versions of a task: list, promote, roll back.');
  // Metrics as columns: the union of every listed version's metric names, in first-seen order.
  type VersionView = { id: string; state: string; kind: string; createdAt: string; metrics?: Record<string, number> };
  let metricNames: string[] = [];
  const versionHeader = (vs: VersionView[]) => {
    metricNames = [...new Set(vs.flatMap((v) => Object.keys(v.metrics ?? {})))];
    return `${'version'.padEnd(28)} ${'state'.padEnd(10)} ${'kind'.padEnd(7)} ${'created'.padEnd(24)}  ${metricNames.map((m) => m.padStart(Math.max(10, m.length))).join(' ')}`;
  };
  const versionLine = (v: VersionView) => {
    const names = metricNames.length ? metricNames : Object.keys(v.metrics ?? {});
    const cells = names.map((m) => {
      const x = v.metrics?.[m];
      return (x === undefined ? '-' : String(Number(x.toFixed(4)))).padStart(Math.max(10, m.length));
    });
    return `${v.id.padEnd(28)} ${v.state.padEnd(10)} ${v.kind.padEnd(7)} ${v.createdAt.padEnd(24)}  ${metricNames.length ? cells.join(' ') : names.map((m, i) => `${m}=${cells[i]!.trim()}`).join(' ')}`;
  };
  models
    .command('list')
    .argument('<task>')
    .description('List the versions of a task, newest first.')
    .addHelpText('after', '\nExample:\n  npx distillery models list clinc150-intent\n')
    .action(async (task: string, _o: unknown, cmd: Command) => {
      const g = apiOptions(cmd);
      const list = await api<{ data: Parameters<typeof versionLine>[0][] }>(g, 'GET', `/admin/tasks/${encodeURIComponent(task)}/models`);
      out(g, list.data, () => (list.data.length ? [versionHeader(list.data), ...list.data.map(versionLine)].join('\n') : `(no versions of ${task} yet)`));
    });
  models
    .command('promote')
    .argument('<task>')
    .argument('<version>')
    .description('Serve this version now (operator key).')
    .addHelpText('after', '\nExample:\n  npx distillery models promote clinc150-intent 3\n')
    .action(async (task: string, version: string, _o: unknown, cmd: Command) => {
      const g = apiOptions(cmd);
      const v = await api<Parameters<typeof versionLine>[0]>(g, 'POST', `/admin/tasks/${encodeURIComponent(task)}/models/${encodeURIComponent(version)}/promote`);
      out(g, v, () => `promoted ${versionLine(v)}`);
    });
  models
    .command('rollback')
    .argument('<task>')
    .description('Go back to the previously promoted version (operator key).')
    .addHelpText('after', '\nExample:\n  npx distillery models rollback clinc150-intent\n')
    .action(async (task: string, _o: unknown, cmd: Command) => {
      const g = apiOptions(cmd);
      const v = await api<Parameters<typeof versionLine>[0]>(g, 'POST', `/admin/tasks/${encodeURIComponent(task)}/rollback`);
      out(g, v, () => `rolled back to ${versionLine(v)}`);
    });

  program
    .command('report')
    .description('The online A/B report from logged pairs: per arm requests, agreement, latency, cost, savings.')
    .option('--task <task>', 'only this task')
    .option('--since <iso>', 'window start (default 7 days ago)')
    .option('--until <iso>', 'window end')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'md', 'json']).default('text'))
    .addHelpText('after', '\nExamples:\n  npx distillery report --task clinc150-intent\n  npx distillery report --format md > report.md\n')
    .action(async (o: { task?: string; since?: string; until?: string; format: string }, cmd: Command) => {
      const g = apiOptions(cmd);
      const format = g.json ? 'json' : o.format;
      const query = new URLSearchParams({ format, ...(o.task ? { task: o.task } : {}), ...(o.since ? { since: o.since } : {}), ...(o.until ? { until: o.until } : {}) });
      const body = await api<unknown>(g, 'GET', `/admin/reports/online?${query}`);
      console.log(typeof body === 'string' ? body : JSON.stringify(body, null, 2));
    });

  program
    .command('eval')
    .description('Offline comparison on a JSONL file of {prompt, label?} rows: the task\'s student vs its teacher, through the API.')
    .argument('<task>')
    .requiredOption('--dataset <file>', 'JSONL rows: {"prompt": "...", "label": "..."} or {"messages": [...], "reference": "..."}')
    .option('--limit <n>', 'first n rows only')
    .addHelpText('after', '\nExample:\n  npx distillery eval clinc150-intent --dataset held-out.jsonl --limit 500\n')
    .action(async (task: string, o: { dataset: string; limit?: string }, cmd: Command) => {
      const { readEvalDataset, runOfflineEval } = await import('./cli-eval.js');
      const g = apiOptions(cmd);
      if (!g.key) throw new CliError('No API key: pass --key or set DISTILLERY_API_KEY.', EXIT.usage);
      const result = await runOfflineEval({ url: g.url, key: g.key, task, dataset: readEvalDataset(o.dataset), datasetName: o.dataset, ...(o.limit ? { limit: Number(o.limit) } : {}) });
      out(g, result, () => result.text);
    });

  const dataset = program.command('dataset').description('Datasets built by distillation jobs.');
  dataset
    .command('export')
    .argument('<job>', 'job id, e.g. clinc150-intent.1')
    .addOption(new Option('--file <file>', 'which file').choices(['examples.jsonl', 'train.jsonl', 'validation.jsonl', 'manifest.json', 'validation-report.json']).default('examples.jsonl'))
    .option('-o, --out <path>', 'write to this file instead of stdout')
    .addHelpText('after', '\nExamples:\n  npx distillery dataset export clinc150-intent.1 --file manifest.json\n  npx distillery dataset export support.3 --file train.jsonl -o train.jsonl\n')
    .action(async (job: string, o: { file: string; out?: string }, cmd: Command) => {
      const g = apiOptions(cmd);
      const body = await api<unknown>(g, 'GET', `/admin/jobs/${encodeURIComponent(job)}/dataset/${o.file}`);
      const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    });

  const config = program.command('config').description('Configuration.');
  config
    .command('check')
    .description('Validate the configuration in the environment (and the models/tasks document) without starting anything.')
    .addHelpText('after', '\nExamples:\n  npx distillery config check\n  DISTILLERY_CONFIG_FILE=prod.config.json npx distillery config check --json\n')
    .action((_o: unknown, cmd: Command) => {
      const g = apiOptions(cmd);
      try {
        const c = loadConfig(process.env);
        const summary = {
          ok: true,
          store: c.settings.DISTILLERY_STORE,
          queue: c.settings.DISTILLERY_QUEUE,
          artifacts: c.settings.DISTILLERY_ARTIFACTS,
          models: Object.keys(c.document.models),
          tasks: c.document.tasks.map((t) => t.name),
          apiKeys: c.apiKeys.length,
        };
        out(g, summary, () =>
          [`configuration OK`, `  store ${summary.store}, queue ${summary.queue}, artifacts ${summary.artifacts}`, `  models: ${summary.models.join(', ')}`, `  tasks: ${summary.tasks.join(', ')}`, `  API keys: ${summary.apiKeys}`].join('\n'),
        );
      } catch (err) {
        if (err instanceof ConfigError) {
          out(g, { ok: false, issues: err.issues }, () => err.message);
          throw new CliError('configuration invalid', EXIT.usage);
        }
        throw err;
      }
    });

  program
    .command('pricing')
    .description('The price table in use (built-in dated list prices with the configuration\'s pricing section over them), and what the configured models are priced as.')
    .argument('[names...]', 'model names to look up (default: the configured models)')
    .addHelpText('after', '\nExamples:\n  npx distillery pricing\n  npx distillery pricing gpt-4.1 DeepSeek-V3 --json\n')
    .action(async (names: string[], _o: unknown, cmd: Command) => {
      const g = apiOptions(cmd);
      const { listPricing, formatPricing } = await import('./pricing-command.js');
      let listing: ReturnType<typeof listPricing>;
      try {
        listing = listPricing(loadConfig(process.env).document, names);
      } catch (err) {
        // A bad configuration or pricing section is a usage error, as for `config check`.
        const issues = err instanceof ConfigError ? err.issues : (err as { code?: string }).code === 'invalid_pricing' ? [(err as Error).message] : undefined;
        if (!issues) throw err;
        out(g, { ok: false, issues }, () => issues.join('\n'));
        throw new CliError('configuration invalid', EXIT.usage);
      }
      out(g, listing, () => formatPricing(listing));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return EXIT.usage;
    if (err instanceof CliError) {
      if (err.message !== 'configuration invalid') console.error(`distillery: ${err.message}`);
      return err.exitCode;
    }
    // Errors of the command modules (cli-eval.ts) that carry their exit code.
    if (err instanceof Error && typeof e.exitCode === 'number') {
      console.error(`distillery: ${err.message}`);
      return e.exitCode;
    }
    console.error(`distillery: ${(err as Error).message}`);
    return EXIT.failure;
  }
}

// Installed as a bin, argv[1] is a symlink while import.meta.url is the real file.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
