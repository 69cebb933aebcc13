import type { Usage } from '../chat/chat-model-types.js';
import type { ArtifactStore, ChatModel, Clock, JobQueue, JobStore, OperationOptions, PairStore, Trainer } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';

// What the parts of a dataset distillation job (submission, stage-1 fan-out, chunk worker,
// report) are given.

export interface DatasetJobsDeps {
  jobs: JobStore;
  pairs: PairStore;
  artifacts: ArtifactStore;
  queue: JobQueue;
  clock: Clock;
  /** Configured tasks; a spec naming one distills into it. */
  tasks: { get(name: string): TaskRuntime | undefined };
  /** A configured model by id (the teacher, or a remote student's base model for the baseline). */
  model(id: string): ChatModel;
  /** The teacher for stage 1 without the serving circuit breaker (stage 1 pauses on its own); `model` when absent. */
  stage1Model?(id: string): ChatModel;
  /** USD for one call of a model (by the id it answered as, or ours), undefined when it has no price. */
  price?(modelId: string, hosting: ChatModel['hosting'], usage: Usage, latencyInMs: number): number | undefined;
  /**
   * Deliveries of a queue message before it is dead-lettered: on the last one a chunk that still
   * fails is recorded as failed instead, so the job reaches its success-ratio check and never
   * waits forever for a chunk in the dead-letter queue.
   */
  maxDeliveries?: number;
  /** What submission checks before queueing (job-preflight.ts); absent: no preflight. */
  preflight?: { model(id: string): ChatModel; trainers: Readonly<Record<string, Trainer>>; timeoutInMs?: number };
  /** Waits (retries, retry-after); tests may shorten it. core/retry's abortableSleep by default. */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  log?(message: string): void;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

export async function readJson<T>(deps: Pick<DatasetJobsDeps, 'artifacts'>, path: string, options: OperationOptions = {}): Promise<T | undefined> {
  const bytes = await deps.artifacts.get(path, options);
  return bytes ? (JSON.parse(text(bytes)) as T) : undefined;
}

export async function readText(deps: Pick<DatasetJobsDeps, 'artifacts'>, path: string, options: OperationOptions = {}): Promise<string | undefined> {
  const bytes = await deps.artifacts.get(path, options);
  return bytes ? text(bytes) : undefined;
}
