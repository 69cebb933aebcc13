import { Option, type Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { api, apiOptions, CliError, EXIT, out } from './cli-api.js';

// `distillery report`, `eval` and `dataset export`: what the logged pairs and built datasets say,
// and the datasets as files fine-tuning tools read.

export function addReportCommand(program: Command): void {
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
}

export function addEvalCommand(program: Command): void {
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
}

export function addDatasetCommands(program: Command): void {
  const dataset = program.command('dataset').description('Datasets built by distillation jobs.');
  dataset
    .command('export')
    .argument('<job>', 'job id, e.g. clinc150-intent.1')
    .addOption(new Option('--file <file>', 'a stored file (default examples.jsonl)').choices(['examples.jsonl', 'train.jsonl', 'validation.jsonl', 'manifest.json', 'validation-report.json']))
    .addOption(new Option('--format <format>', 'fine-tuning JSONL: OpenAI chat, Azure ML chat, or messages for HF TRL / Unsloth').choices(['openai', 'azure-ml', 'messages']))
    .addOption(new Option('--split <split>', 'with --format: which examples').choices(['train', 'validation', 'test', 'all']).default('train'))
    .option('-o, --out <path>', 'write to this file instead of stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  npx distillery dataset export clinc150-intent.1 --file manifest.json\n  npx distillery dataset export support.3 --file train.jsonl -o train.jsonl\n' +
        '  npx distillery dataset export support.3 --format messages --split train -o train.jsonl   # HF TRL / Unsloth\n  npx distillery dataset export nli.2 --format azure-ml --split validation -o validation.jsonl\n',
    )
    .action(async (job: string, o: { file?: string; format?: string; split: string; out?: string }, cmd: Command) => {
      const g = apiOptions(cmd);
      if (o.file && o.format) throw new CliError('Pass --file (a stored file) or --format (an export), not both.', EXIT.usage);
      const file = o.format ? (o.split === 'all' ? 'examples.jsonl' : `${o.split}.jsonl`) : (o.file ?? 'examples.jsonl');
      const query = o.format ? `?format=${encodeURIComponent(o.format)}` : '';
      const body = await api<unknown>(g, 'GET', `/admin/jobs/${encodeURIComponent(job)}/dataset/${file}${query}`);
      const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
      // The file itself is JSON or JSON Lines already: --json changes only the summary of -o.
      if (o.out) {
        writeFileSync(o.out, text);
        out(g, { job, file, ...(o.format ? { format: o.format } : {}), out: o.out, bytes: Buffer.byteLength(text) }, () => `wrote ${o.out} (${Buffer.byteLength(text)} bytes)`);
      } else process.stdout.write(text === '' || text.endsWith('\n') ? text : `${text}\n`);
    });
}
