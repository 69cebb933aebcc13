import type { DatasetJobsDeps } from './dataset-job-deps.js';
import { datasetJobReport } from './dataset-job-report.js';
import type { JobPipeline } from './job-pipeline.js';
import { applySourceSplits, taskOfSpecJob } from './spec-to-task.js';
import { fanOutStage1 } from './stage1-fan-out.js';
import { stage2Steps, type Stage2Deps } from './stage2-steps.js';

// Distillation from a dataset (a job spec): stage 1 has the teacher answer every row (fanned out
// over the queue), then stage 2 trains on the answers, keeping the spec's splits, and the job ends
// with a report comparing student, teacher and the un-distilled baseline.

export function datasetPipeline(stage2: Stage2Deps, deps: DatasetJobsDeps): JobPipeline {
  const taskOf = (job: Parameters<JobPipeline['taskOf']>[0]) => taskOfSpecJob(job, deps.tasks);
  return {
    kind: 'dataset',
    taskOf,
    steps: [
      {
        state: 'generating',
        progress: [0.05, 0.4],
        run: async (job, _task, context) => {
          const generation = await fanOutStage1(deps, job, context.abortSignal);
          // Not saved while pending: chunk workers update progress, and the last one re-enters the job.
          if (generation.pending) return { wait: true };
          // The teacher's answers are pairs of this task too: the threshold trigger counts new
          // pairs from here, so a dataset job does not start a re-distillation by itself.
          const counterAfterGeneration = await deps.pairs.getCounter(job.task);
          return { steps: { generation, counterAfterGeneration }, log: { level: 'info', message: 'stage 1 (teacher answers) done' } };
        },
      },
      ...stage2Steps(
        stage2,
        {
          datasetIdOf: (job) => (job.spec as { datasetId?: string } | undefined)?.datasetId ?? job.id,
          applySourceSplits: (job, dataset, splits) =>
            applySourceSplits(dataset, splits as ReadonlyMap<string, 'train' | 'validation'>, taskOf(job)?.config.distill.dataset.validationShare ?? 0.1),
          report: (job, input) => datasetJobReport(deps, job, input),
        },
        0.4,
      ),
    ],
  };
}
