#!/usr/bin/env node
import { Command, Option } from 'commander';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CliError, EXIT } from './cli-api.js';
import { addDatasetCommands, addEvalCommand, addReportCommand } from './cli-data.js';
import { addDistillCommand, addJobsCommands } from './cli-jobs.js';
import { addKeysCommands } from './cli-keys.js';
import { addConfigCommands, addDemoCommand, addPricingCommand, addServeCommand } from './cli-local.js';
import { addModelsCommands } from './cli-models.js';

// `distillery`: the command line. `serve`, `demo` and `config check` run locally; every other
// command is a client of a running Distillery's admin API (--url / DISTILLERY_URL, --key /
// DISTILLERY_API_KEY), so the same commands work against the standalone server and an Azure
// deployment. Exit codes: 0 ok, 1 unexpected failure, 2 bad usage or configuration, 3 the API
// refused or failed, 4 a distillation job failed or was rejected.

export { CliError, EXIT } from './cli-api.js';

export function buildCli(): Command {
  const program = new Command('distillery')
    .description('Serve, evaluate and continuously distill teacher LLMs into small students behind an OpenAI-compatible API.')
    .addOption(new Option('--url <url>', 'Distillery base URL').env('DISTILLERY_URL').default('http://127.0.0.1:8787'))
    .addOption(new Option('--key <key>', 'API key with the admin scope').env('DISTILLERY_API_KEY'))
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    // Set before the subcommands exist so they inherit it: main() maps commander's exits to ours.
    .exitOverride()
    .addHelpText(
      'after',
      '\nExamples:\n  npx distillery serve\n  npx distillery demo\n  DISTILLERY_API_KEY=dk-... npx distillery jobs --watch\n' +
        '\nExit codes:\n  0  ok\n  1  unexpected failure\n  2  bad usage or configuration (unknown option, missing key, invalid dataset file)\n  3  the API refused or failed (HTTP 4xx/5xx, unknown task or job, server unreachable)\n  4  a distillation job (--wait) failed, was cancelled or was not promoted\n',
    );

  addServeCommand(program);
  addDemoCommand(program);
  addDistillCommand(program);
  addJobsCommands(program);
  addModelsCommands(program);
  addKeysCommands(program);
  addReportCommand(program);
  addEvalCommand(program);
  addDatasetCommands(program);
  addConfigCommands(program);
  addPricingCommand(program);
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
