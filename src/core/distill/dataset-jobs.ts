import type { JobRecord, OperationOptions } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import type { DatasetJobsDeps } from './dataset-job-deps.js';
import { prepareDatasetJob, type PreparedDatasetJob } from './dataset-job-submission.js';
import type { JobMessageBody } from './job-messages.js';
import { taskOfSpecJob } from './spec-to-task.js';
import { handleChunk } from './stage1-chunk-worker.js';

// Distillation jobs from a dataset, as the HTTP routes and the job-queue dispatcher see them. The
// parts live beside this file: submission (dataset-job-submission), spec → task (spec-to-task),
// stage-1 fan-out and chunk worker, the report, and the pipeline that runs them
// (dataset-pipeline).

export type { DatasetJobsDeps } from './dataset-job-deps.js';
export { applySourceSplits, taskConfigFromSpec } from './spec-to-task.js';
export { STAGE1_CHUNK_KIND, stage1PathOf, summarizeStage1, type ChunkResult } from './stage1-results.js';

export class DatasetJobs {
  constructor(private readonly deps: DatasetJobsDeps) {}

  /** Validates a spec and its rows (400 on any bad row) and stores inline data in the artifact store. */
  prepare(input: unknown, options: OperationOptions & { tenant: string }): Promise<PreparedDatasetJob> {
    return prepareDatasetJob(this.deps, input, options);
  }

  /** The runner's task for a dataset job (undefined for other jobs). */
  taskOf(job: JobRecord): TaskRuntime | undefined {
    return taskOfSpecJob(job, this.deps.tasks);
  }

  /** The `stage1-chunk` message handler. */
  readonly handleChunk = (body: JobMessageBody, options: OperationOptions & { deliveryCount: number }): Promise<void> => handleChunk(this.deps, body, options);
}
