// The ports: every dependency of the core on the outside world. Adapters in src/adapters/
// implement them; src/compose/ picks which. Naming follows the Azure SDKs: create/get/upsert/
// list/delete, `get` returns undefined when absent, lists are async iterables, every async method
// takes { abortSignal }, durations end in InMs.

import type { Arm, CallOptions, ChatModelRequest, ChatModelResult, ChatStreamEvent } from './chat/chat-model-types.js';
import type { ChatCompletionRequest } from './chat/chat-request-schema.js';
import type { DatasetExample } from './distill/dataset-builder.js';
import type { JobSteps } from './distill/job-steps.js';
import type { PairQuery, PairRecord } from './pairs/pair-record.js';
import type { OnlineCascadeThreshold } from './routing/decide-route.js';
import type { StudentCascadeCalibration } from './routing/policy-schema.js';
import type { TaskRuntime } from './tasks/task-catalog.js';
import type { TaskConfig } from './tasks/task-schema.js';

export interface OperationOptions {
  abortSignal?: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// Models

/** One port for teacher and student, remote or in-process. */
export interface ChatModel {
  /** Stable id used in logs, headers and pricing, e.g. `gpt-4o` or `clinc150@3`. */
  readonly id: string;
  /** Where it runs: decides how cost is computed (tokens vs GB-seconds). */
  readonly hosting: 'remote' | 'in-process';
  /** A student version's cascade τ, chosen by its job for a quality target (see core/eval/risk-coverage.ts). */
  readonly cascadeCalibration?: StudentCascadeCalibration;
  generate(request: ChatModelRequest, options?: CallOptions): Promise<ChatModelResult>;
  stream(request: ChatModelRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent>;
}

// ---------------------------------------------------------------------------------------------
// Pair records

export interface PairStore {
  /** Insert or replace a whole record by id (idempotent: a retried write never duplicates). */
  upsert(pair: PairRecord, options?: OperationOptions): Promise<void>;
  upsertMany(pairs: readonly PairRecord[], options?: OperationOptions): Promise<void>;
  get(task: string, tenant: string, id: string, options?: OperationOptions): Promise<PairRecord | undefined>;
  /** Records in createdAt order (then id). */
  list(query: PairQuery, options?: OperationOptions): AsyncIterable<PairRecord>;
  /** Pairs written for a task since the counter was created (feeds the threshold trigger). */
  getCounter(task: string, options?: OperationOptions): Promise<number>;
  /** Wait until every accepted write is durable. */
  flush(options?: OperationOptions): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Distillation jobs

export type JobState =
  | 'queued'
  | 'building_dataset'
  | 'generating'
  | 'training'
  | 'evaluating'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

export interface JobLogEntry {
  at: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface JobRecord {
  id: string;
  task: string;
  /** `redistill`: from logged pairs; `dataset`: a distillation job spec with its own data. */
  kind: 'redistill' | 'dataset';
  state: JobState;
  /** promoted | rejected once succeeded. */
  outcome?: 'promoted' | 'rejected';
  trigger: { type: 'threshold' | 'schedule' | 'drift' | 'manual' | 'spec'; detail?: string };
  /** 0..1 */
  progress: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  tenant?: string;
  /** Step outputs (dataset version, model version, evaluation summary, gate reasons). */
  steps: JobSteps;
  log: JobLogEntry[];
  spec?: unknown;
  error?: { code: string; message: string };
  /** The worker advancing the job holds it until `expiresAt` (renewed by its heartbeat). */
  lease?: { owner: string; expiresAt: string };
  /** Times a worker took the job over from one that stopped advancing it. */
  resumes?: number;
  /** Deliveries of the job's message seen so far (the last worker's count). */
  deliveries?: number;
  /** When a failed attempt will be tried again (queue back-off), and why it failed. */
  nextRetryAt?: string;
  lastError?: { code: string; message: string; at: string };
  /** An operator asked to cancel: the worker stops its running step and ends the job `cancelled`. */
  cancelRequested?: { at: string; by?: string };
  /** Opaque version for optimistic concurrency; set by the store. */
  etag?: string;
}

export interface JobQuery {
  task?: string;
  states?: JobState[];
  tenant?: string;
}

export interface JobStore {
  /** Fails with a ConcurrencyError when the id exists. */
  create(job: JobRecord, options?: OperationOptions): Promise<JobRecord>;
  get(id: string, options?: OperationOptions & { task?: string }): Promise<JobRecord | undefined>;
  /** Replaces the record only if `job.etag` is still current; throws ConcurrencyError otherwise. */
  update(job: JobRecord, options?: OperationOptions): Promise<JobRecord>;
  /** Newest first. */
  list(query?: JobQuery, options?: OperationOptions): AsyncIterable<JobRecord>;
  /**
   * Records a trigger that fired while the task had an active job, beside that job (never in it):
   * one pending request per task, later triggers coalesce into it (count, first and last).
   */
  recordPendingTrigger(task: string, trigger: PendingTriggerEntry, options?: OperationOptions): Promise<PendingTrigger>;
  getPendingTrigger(task: string, options?: OperationOptions): Promise<PendingTrigger | undefined>;
  /** Removes and returns the task's pending request (at most one caller gets it). */
  takePendingTrigger(task: string, options?: OperationOptions): Promise<PendingTrigger | undefined>;
}

export interface PendingTriggerEntry {
  type: JobRecord['trigger']['type'];
  detail?: string;
  at: string;
  /** The tenant whose request this was (absent for system triggers): the follow-up job is theirs. */
  tenant?: string;
}

export interface PendingTrigger {
  task: string;
  /** Triggers coalesced into this request. */
  count: number;
  first: PendingTriggerEntry;
  last: PendingTriggerEntry;
}

export interface JobMessage {
  /** Equals the job id for job messages, so the broker can drop duplicates. */
  messageId: string;
  body: { jobId: string; task: string; kind: string; [key: string]: unknown };
}

export interface ReceivedJobMessage extends JobMessage {
  deliveryCount: number;
}

export interface JobQueueSendOptions extends OperationOptions {
  /** Deliver no earlier than this time (delayed retries). */
  scheduledAt?: Date;
}

export interface JobQueueSubscription {
  close(): Promise<void>;
}

export interface JobQueue {
  send(message: JobMessage, options?: JobQueueSendOptions): Promise<void>;
  /**
   * Receive with peek-lock. The handler resolving completes the message; throwing abandons it so
   * it is redelivered; after the configured maximum deliveries it is dead-lettered with the error.
   */
  subscribe(
    handler: (message: ReceivedJobMessage, options: OperationOptions) => Promise<void>,
    options?: { maxConcurrentCalls?: number },
  ): JobQueueSubscription;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Artifacts and models

export interface ArtifactStore {
  upsert(path: string, data: Uint8Array | string, options?: OperationOptions & { contentType?: string }): Promise<void>;
  get(path: string, options?: OperationOptions): Promise<Uint8Array | undefined>;
  list(prefix: string, options?: OperationOptions): AsyncIterable<string>;
  delete(path: string, options?: OperationOptions): Promise<void>;
}

export type ModelVersionState = 'candidate' | 'promoted' | 'retired';

export interface ModelVersion {
  /** `${task}@${version}` */
  id: string;
  task: string;
  version: number;
  kind: 'onnx' | 'remote';
  state: ModelVersionState;
  /** For `onnx`: artifact path prefix holding model.onnx and model.json. */
  artifactPath?: string;
  /**
   * For `remote`: an OpenAI-compatible endpoint (a fine-tuned Phi-4-mini deployment). `modelRef`
   * names the configured model whose auth and time-outs apply; without it (a local runtime
   * registered through the admin API) `baseURL` is called with the key of `apiKeySetting`, or none.
   */
  endpoint?: { modelRef?: string; baseURL?: string; model: string; apiKeySetting?: string };
  lineage: {
    jobId?: string;
    datasetVersion?: string;
    teacherModel?: string;
    hyperparameters?: Record<string, unknown>;
  };
  metrics?: Record<string, number>;
  createdAt: string;
  promotedAt?: string;
  etag?: string;
}

export interface ModelRegistry {
  /** Assigns the next version number for the task. */
  create(
    version: Omit<ModelVersion, 'id' | 'version' | 'state' | 'createdAt' | 'etag'>,
    options?: OperationOptions,
  ): Promise<ModelVersion>;
  get(task: string, version: number, options?: OperationOptions): Promise<ModelVersion | undefined>;
  /** Newest first. */
  list(task: string, options?: OperationOptions): AsyncIterable<ModelVersion>;
  getPromoted(task: string, options?: OperationOptions): Promise<ModelVersion | undefined>;
  /** Makes `version` the promoted one; the previously promoted one becomes retired. */
  promote(task: string, version: number, options?: OperationOptions): Promise<ModelVersion>;
  /** Re-promotes the most recently retired version before the current one. */
  rollback(task: string, options?: OperationOptions): Promise<ModelVersion>;
}

// ---------------------------------------------------------------------------------------------
// Training

export interface TrainRequest {
  jobId: string;
  task: TaskConfig;
  /** Artifact folder of the dataset version (holds manifest.json, examples.jsonl, exports). */
  datasetPath: string;
  train: readonly DatasetExample[];
  validation: readonly DatasetExample[];
  teacherModel: string;
}

export interface TrainedModel {
  kind: ModelVersion['kind'];
  artifactPath?: string;
  endpoint?: ModelVersion['endpoint'];
  hyperparameters: Record<string, unknown>;
  metrics: Record<string, number>;
}

/** Stage 2 of distillation: the local ONNX trainer, or a cloud fine-tuning service. */
export interface Trainer {
  readonly kind: string;
  /** Must be safe to call again for the same job (a worker may die mid-way): same inputs, same outputs. */
  train(request: TrainRequest, options?: OperationOptions & { onProgress?: (fraction: number, message?: string) => void }): Promise<TrainedModel>;
  /**
   * Checks, before any paid call, that this trainer can train the task (its target configured and
   * reachable); throws a DistilleryError whose `param` names the field at fault.
   */
  preflight?(task: TaskConfig, options?: OperationOptions): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Serving: which model answers, where pair records go

/** The chat use case as the HTTP layer sees it (core/routing/chat-gateway.ts implements it). */
export interface ChatService {
  complete(inv: ChatInvocation): Promise<GatewayResult>;
  stream(inv: ChatInvocation): Promise<GatewayStream>;
}

export interface ChatInvocation {
  requestId: string;
  tenant: string;
  task: TaskRuntime;
  request: ChatCompletionRequest;
  forcedArm?: Arm;
  abortSignal?: AbortSignal;
  /** Where the request came from; dataset jobs tag their pairs. */
  source?: PairRecord['source'];
  /** Public id of the API key that made the request (per-key usage and spend). */
  keyId?: string;
}

export interface ServedMeta {
  arm: Arm;
  model: string;
  reason: string;
}

export interface GatewayResult extends ServedMeta {
  result: ChatModelResult;
  /** Resolves when the pair record has been handed to the writer (tests, batch jobs). */
  logged: Promise<void>;
}

export interface GatewayStream extends ServedMeta {
  events: AsyncIterable<ChatStreamEvent>;
}

export interface ModelResolver {
  teacher(task: TaskConfig): ChatModel;
  /** The task's current student (e.g. the promoted registry version), if any. */
  student(task: TaskConfig, options?: { abortSignal?: AbortSignal }): Promise<ChatModel | undefined>;
  /** Canary share of a newly promoted student (see core/distill/canary.ts), if it is ramping. */
  canaryShare?(task: TaskConfig, student: ChatModel): Promise<number | undefined>;
  /** Adaptive shadow rate of the promoted student (see core/routing/adaptive-shadow.ts), when configured. */
  shadowRate?(task: TaskConfig, student: ChatModel): Promise<number | undefined>;
  /** A target cascade's τ re-estimated from the student's shadow sample (see core/routing/online-cascade-threshold.ts). */
  cascadeThreshold?(task: TaskConfig, student: ChatModel): Promise<OnlineCascadeThreshold | undefined>;
}

export interface PairSink {
  enqueue(pair: PairRecord): boolean;
}

/** A durable, ordered outbox of pair records (src/adapters/local/file-pair-spool.ts). */
export interface PairSpool {
  /** Appends durably (fsync) before resolving. */
  append(pairs: readonly PairRecord[]): Promise<void>;
  /** The oldest batch without removing it, or undefined when empty. */
  peek(): Promise<{ id: string; pairs: PairRecord[] } | undefined>;
  /** Removes a batch returned by peek, after its records are in the store. */
  remove(id: string): Promise<void>;
  /** Records waiting in the spool. */
  size(): number;
}


// ---------------------------------------------------------------------------------------------
// Time

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
