import type { Command } from 'commander';
import { api, apiOptions, CliError, EXIT, out, type ApiOptions } from './cli-api.js';
import { readSpecFile } from './cli-spec-file.js';

// `distillery distill`, `jobs`, `jobs cancel`, `jobs show`: distillation jobs through the admin API.

export interface JobView {
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

export const jobLine = (j: JobView) =>
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

export async function watchJob(opts: ApiOptions, id: string): Promise<JobView> {
  let seen = 0;
  for (;;) {
    const job = await api<JobView>(opts, 'GET', `/admin/jobs/${encodeURIComponent(id)}`);
    for (const entry of job.log.slice(seen)) if (!opts.json) console.log(`  ${entry.at}  ${entry.message}`);
    seen = job.log.length;
    if (job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled') return job;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function addDistillCommand(program: Command): void {
  program
    .command('distill')
    .description('Start a distillation job for a task now (manual trigger), or from a job spec file.')
    .argument('[task]', 'task name')
    .option('--spec <file>', 'distillation job spec (JSON or YAML; an azure-ai-ml distillation YAML as it is) with its own training data')
    .option('--wait', 'follow the job until it ends; exit 4 unless a student is promoted')
    .addHelpText('after', '\nExamples:\n  npx distillery distill clinc150-intent --wait\n  npx distillery distill --spec nli-job.json\n  npx distillery distill --spec distillation_summarization.yaml   # azureml-examples YAML, JSONL files beside it\n')
    .action(async (task: string | undefined, o: { spec?: string; wait?: boolean }, cmd: Command) => {
      const g = apiOptions(cmd);
      let job: JobView;
      if (o.spec) {
        const spec = readSpecFile(o.spec);
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
}

export function addJobsCommands(program: Command): void {
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
}
