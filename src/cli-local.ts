import type { Command } from 'commander';
import { apiOptions, CliError, EXIT, out } from './cli-api.js';
import { ConfigError, loadConfig, settingsSchema } from './config.js';

// The commands that run on this machine: `serve`, `demo`, `config check` and `pricing`.

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Start Distillery on the configured (by default embedded) adapters.')
    .option('-p, --port <port>', 'port (0 = any free port)')
    .option('--rotate-operator-key', 'make a new operator key (printed once) and retire the old one')
    .addHelpText('after', '\nExamples:\n  npx distillery serve\n  DISTILLERY_CONFIG_FILE=my.config.json npx distillery serve --port 9000\n  npx distillery serve --rotate-operator-key\n')
    .action(async (o: { port?: string; rotateOperatorKey?: boolean }, cmd: Command) => {
      const { runServe } = await import('./serve-command.js');
      const g = apiOptions(cmd);
      await runServe({
        ...(o.port !== undefined ? { port: Number(o.port) } : {}),
        ...(o.rotateOperatorKey ? { env: { ...process.env, DISTILLERY_ROTATE_OPERATOR_KEY: 'true' } } : {}),
        // --json: every line the server prints becomes one JSON object (log shippers).
        ...(g.json ? { quiet: true, print: (line: string) => console.log(JSON.stringify({ at: new Date().toISOString(), message: line })) } : {}),
      });
    });
}

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the whole loop on CLINC150 and print the A/B report: on the Distillery running at --url (default http://127.0.0.1:8787) with --key, or, when none answers, on one of its own (temporary folder, deleted at the end).')
    .option('--fast', 'CI mode: fast teacher, fewer unseen prompts, exits at the end')
    .option('--exit', 'exit after the report instead of keeping the demo server up')
    .option('--own', 'start a Distillery of its own even if one is running')
    .addHelpText('after', '\nExamples:\n  npm run demo\n  DISTILLERY_API_KEY=dk-... npm run demo          # drive the server npm start runs\n  npm run demo -- --own\n  npx distillery demo --fast --json\n')
    .action(async (o: { fast?: boolean; exit?: boolean; own?: boolean }, cmd: Command) => {
      const { runDemo } = await import('./demo/run-demo.js');
      const g = apiOptions(cmd);
      // The global --url has a default: only a URL the user chose must answer.
      const source = cmd.parent?.getOptionValueSource('url');
      const urlGiven = source === 'cli' || source === 'env';
      // The port the standalone server listens on, read like the server reads it (0 or invalid: 8787).
      const port = settingsSchema.pick({ DISTILLERY_PORT: true }).safeParse(process.env).data?.DISTILLERY_PORT || 8787;
      const url = urlGiven ? g.url : `http://127.0.0.1:${port}`;
      const result = await runDemo({
        fast: o.fast ?? false,
        url,
        urlGiven,
        ...(g.key ? { key: g.key } : {}),
        own: o.own ?? false,
        handleSignals: true,
        ...(g.json ? { print: () => undefined } : {}),
      });
      if (g.json) console.log(JSON.stringify({ url: result.target.url, ownServer: Boolean(result.target.own), job: result.job?.id ?? null, jobStates: result.jobStates, outcome: result.job?.outcome ?? null, promotedVersion: result.promotedVersion, phases: result.phases, unseen: result.unseen }, null, 2));
      if (o.fast || o.exit || !result.target.own) {
        await result.close();
        return;
      }
      console.log(`Serving the demo's Distillery until Ctrl-C (its temporary folder ${result.target.own.dataDir} is deleted then).`);
      // Ctrl-C now ends a finished demo: the signal handler stops the server, deletes the folder, exits 0.
      process.exitCode = 0;
      await new Promise<void>(() => undefined);
    });
}

export function addConfigCommands(program: Command): void {
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
}

export function addPricingCommand(program: Command): void {
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
}
