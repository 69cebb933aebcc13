import type { Command } from 'commander';
import { api, apiOptions, out } from './cli-api.js';

// `distillery models list|register|promote|rollback`: student versions of a task, with their metrics
// as columns; `register` adds any OpenAI-compatible endpoint (a local runtime) as a version.

export function addModelsCommands(program: Command): void {
  const models = program.command('models').description('Student versions of a task: list, register an endpoint, promote, roll back.');
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
    .command('register')
    .description('Register an OpenAI-compatible endpoint (Foundry Local, Ollama, llama.cpp server, vLLM) as a student version of a task (operator key).')
    .requiredOption('--task <task>', 'the task the version serves')
    .requiredOption('--endpoint <url>', 'OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1')
    .requiredOption('--model <name>', 'model name the runtime serves')
    .option('--api-key-env <VAR>', "app setting of the server holding the runtime's key (DISTILLERY_STUDENT_KEY...); none sent without it")
    .option('--promote', 'serve it at once')
    .option('--description <text>', 'kept with the version, e.g. what it was fine-tuned on')
    .option('--no-probe', 'register without calling the endpoint first (a runtime not up yet); by default GET /models and one short chat completion must succeed')
    .addHelpText(
      'after',
      '\nExamples:\n  npx distillery models register --task support --endpoint http://127.0.0.1:11434/v1 --model phi4-mini-support --promote\n' +
        '  npx distillery models register --task support --endpoint http://gpu-box:8000/v1 --model support-8b --api-key-env DISTILLERY_STUDENT_KEY_VLLM\n' +
        '\nThe server probes the endpoint first and refuses it (HTTP 422 naming the field) when it is unreachable, does not serve the model,\n' +
        'refuses the key, or when the --api-key-env setting is not set on the server.\n',
    )
    .action(async (o: { task: string; endpoint: string; model: string; apiKeyEnv?: string; promote?: boolean; description?: string; probe?: boolean }, cmd: Command) => {
      const g = apiOptions(cmd);
      const body = {
        baseURL: o.endpoint,
        model: o.model,
        ...(o.apiKeyEnv ? { apiKeySetting: o.apiKeyEnv } : {}),
        promote: o.promote === true,
        ...(o.description ? { description: o.description } : {}),
        ...(o.probe === false ? { probe: false } : {}),
      };
      const v = await api<Parameters<typeof versionLine>[0]>(g, 'POST', `/admin/tasks/${encodeURIComponent(o.task)}/models`, body);
      out(g, v, () => `registered ${versionLine(v)}`);
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
}
