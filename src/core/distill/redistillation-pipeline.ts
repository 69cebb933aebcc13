import type { TaskRuntime } from '../tasks/task-catalog.js';
import type { JobPipeline } from './job-pipeline.js';
import { stage2Steps, type Stage2Deps } from './stage2-steps.js';

// Re-distillation (threshold, schedule, drift, manual triggers): the task's logged pairs become a
// dataset, a student is trained on it, evaluated against the teacher and promoted if it passes.

export function redistillationPipeline(deps: Stage2Deps & { tasks: { get(name: string): TaskRuntime | undefined } }): JobPipeline {
  return {
    kind: 'redistill',
    taskOf: (job) => deps.tasks.get(job.task),
    steps: stage2Steps(deps, { datasetIdOf: (job, task) => (job.spec as { datasetId?: string } | undefined)?.datasetId ?? task.config.distill.dataset.datasetId }, 0.05),
  };
}
