import { ConcurrencyError, DistilleryError } from '../errors.js';
import type { PairRecord } from '../pairs/pair-record.js';
import type {
  ArtifactStore,
  ChatModel,
  Clock,
  JobLogEntry,
  JobRecord,
  JobState,
  JobStore,
  ModelRegistry,
  ModelVersion,
  PairStore,
  Trainer,
} from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import { validateChatDataset, type ChatDatasetReport } from './chat-format-validator.js';
import { buildDataset, toChatFineTuningJsonl, type Dataset, type DatasetExample, type DatasetManifest } from './dataset-builder.js';
import { initialCanary } from './canary.js';
import { decidePromotion, evaluateCandidate, type ArmEvaluation, type CandidateEvaluation } from './evaluate-candidate.js';

// The distillation job as a persisted state machine:
//   queued → [generating] → building_dataset → training → evaluating → succeeded (promoted | rejected) | failed
// Each step's output goes to the artifact store or the registry under names derived from the job
// id, so running a step again (a redelivered message, a worker that died after the work but
// before saving the state) finds its own earlier output and reuses it. Every state change is an
// etag-guarded write: if two workers race, one gets ConcurrencyError and steps back.

export const ACTIVE_STATES: readonly JobState[] = ['queued', 'generating', 'building_dataset', 'training', 'evaluating'];
export const isTerminal = (s: JobState) => s === 'succeeded' || s === 'failed';

export interface JobRunnerDeps {
  jobs: JobStore;
  pairs: PairStore;
  artifacts: ArtifactStore;
  registry: ModelRegistry;
  trainers: Readonly<Record<string, Trainer>>;
  tasks: { get(name: string): TaskRuntime | undefined };
  /** A servable ChatModel for a registry version (in-process ONNX or remote endpoint). */
  loadStudent(version: ModelVersion): Promise<ChatModel>;
  teacherModelId(task: TaskRuntime): string;
  clock: Clock;
  /** Tokenizer for fine-tuning file validation (cl100k_base). */
  countTokens?: (text: string) => number;
  /**
   * Stage 1 for dataset jobs: has the teacher answer the job's inputs (see dataset-jobs). A result
   * with `pending: true` means the work runs elsewhere (queue chunks) and the job is re-entered
   * by a later message: the runner returns and leaves the job in `generating`.
   */
  generate?: (job: JobRecord, context: StepContext) => Promise<Record<string, unknown>>;
  /** Dataset jobs: the task built from the job's spec (wins over the configured catalog). */
  taskOf?: (job: JobRecord) => TaskRuntime | undefined;
  /** Dataset jobs: re-splits the built dataset by the pairs' source splits (spec validation → test). */
  applySourceSplits?: (job: JobRecord, dataset: Dataset, sourceSplits: ReadonlyMap<string, string>) => Dataset;
  /** Dataset jobs: the evaluation report (student vs teacher vs baseline), stored as `steps.report`. */
  report?: (
    job: JobRecord,
    input: { test: readonly DatasetExample[]; train: readonly DatasetExample[]; candidate: ChatModel; evaluation: CandidateEvaluation; version: ModelVersion },
  ) => Promise<Record<string, unknown>>;
  /** Wraps each step (telemetry spans `distillery.job.<state>`). */
  traceStep?: <T>(state: JobState, fn: () => Promise<T>) => Promise<T>;
  /** Test hook: called after each step is saved; throwing simulates a worker dying there. */
  afterStep?: (job: JobRecord, step: JobState) => void | Promise<void>;
  log?: (message: string) => void;
}

export interface StepContext {
  abortSignal?: AbortSignal;
  progress(fraction: number, message?: string): Promise<void>;
}

export class JobFailure extends DistilleryError {
  constructor(message: string, code = 'job_failed') {
    super(message, { status: 422, type: 'invalid_request_error', code });
  }
}

export const datasetPathOf = (job: Pick<JobRecord, 'task' | 'id'>) => `datasets/${job.task}/${job.id}`;

const jsonl = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export class JobRunner {
  constructor(private readonly deps: JobRunnerDeps) {}

  private now() {
    return new Date(this.deps.clock.now()).toISOString();
  }

  private entry(level: JobLogEntry['level'], message: string): JobLogEntry {
    return { at: this.now(), level, message };
  }

  /** Saves a new version of the job; ConcurrencyError means another worker moved it first. */
  private async save(job: JobRecord, patch: Partial<JobRecord>, log?: JobLogEntry): Promise<JobRecord> {
    const next: JobRecord = {
      ...job,
      ...patch,
      steps: { ...job.steps, ...patch.steps },
      log: log ? [...job.log, log].slice(-500) : job.log,
      updatedAt: this.now(),
    };
    return this.deps.jobs.update(next);
  }

  /**
   * Advances the job until it ends. Safe to call for a job in any state, any number of times:
   * a finished job is left alone; a job another worker is advancing makes this call return.
   */
  async run(jobId: string, options: { abortSignal?: AbortSignal; task?: string } = {}): Promise<JobRecord | undefined> {
    let job = await this.deps.jobs.get(jobId, options.task ? { task: options.task } : {});
    if (!job) throw new JobFailure(`Job '${jobId}' does not exist.`, 'job_not_found');
    try {
      while (!isTerminal(job.state)) {
        options.abortSignal?.throwIfAborted();
        const current: JobRecord = job;
        const advance = (): Promise<JobRecord> => this.step(current, options.abortSignal);
        job = this.deps.traceStep ? await this.deps.traceStep(current.state, advance) : await advance();
        if (job.state === 'generating' && (job.steps.generation as { pending?: unknown } | undefined)?.pending === true) return job;
      }
      return job;
    } catch (err) {
      if (err instanceof ConcurrencyError) {
        this.deps.log?.(`job ${jobId}: another worker advanced it; stepping back`);
        return this.deps.jobs.get(jobId, { task: job.task });
      }
      if (err instanceof JobFailure) {
        const latest = (await this.deps.jobs.get(jobId, { task: job.task })) ?? job;
        if (isTerminal(latest.state)) return latest;
        return this.save(
          latest,
          { state: 'failed', finishedAt: this.now(), error: { code: err.code, message: err.message } },
          this.entry('error', err.message),
        );
      }
      // Anything else (store down, worker crash, abort) propagates so the message is retried.
      throw err;
    }
  }

  private async step(job: JobRecord, abortSignal: AbortSignal | undefined): Promise<JobRecord> {
    const task = (job.kind === 'dataset' ? this.deps.taskOf?.(job) : undefined) ?? this.deps.tasks.get(job.task);
    if (!task) throw new JobFailure(`Task '${job.task}' is not configured.`, 'task_not_found');
    const context: StepContext = {
      ...(abortSignal ? { abortSignal } : {}),
      progress: async () => undefined,
    };
    let next: JobRecord;
    switch (job.state) {
      case 'queued':
        next = await this.save(
          job,
          { state: job.kind === 'dataset' && this.deps.generate ? 'generating' : 'building_dataset', startedAt: job.startedAt ?? this.now(), progress: 0.05 },
          this.entry('info', `started (trigger: ${job.trigger.type}${job.trigger.detail ? `, ${job.trigger.detail}` : ''})`),
        );
        break;
      case 'generating': {
        const steps = await this.deps.generate!(job, context);
        // Not saved: chunk workers update progress meanwhile, and the last one re-enters the job.
        if (steps.pending === true) return { ...job, steps: { ...job.steps, generation: steps } };
        // The teacher's answers to the dataset are pairs of this task too: the threshold trigger
        // counts new pairs from here, so a dataset job does not start a re-distillation by itself.
        const counterAfterGeneration = await this.deps.pairs.getCounter(job.task);
        next = await this.save(
          job,
          { state: 'building_dataset', progress: 0.4, steps: { generation: steps, counterAfterGeneration } },
          this.entry('info', 'stage 1 (teacher answers) done'),
        );
        break;
      }
      case 'building_dataset': {
        const summary = await this.buildDatasetStep(job, task);
        next = await this.save(
          job,
          { state: 'training', progress: 0.5, steps: { dataset: summary } },
          this.entry('info', `dataset ${summary.path}: ${summary.train} train / ${summary.validation} validation / ${summary.test} test`),
        );
        break;
      }
      case 'training': {
        const version = await this.trainStep(job, task, abortSignal);
        next = await this.save(
          job,
          { state: 'evaluating', progress: 0.8, steps: { training: { version: version.version, modelId: version.id, metrics: version.metrics ?? {} } } },
          this.entry('info', `trained candidate ${version.id}`),
        );
        break;
      }
      case 'evaluating': {
        const { evaluation, decision, version, report } = await this.evaluateStep(job, task);
        if (decision.promote) {
          const promoted = await this.deps.registry.getPromoted(job.task);
          if (promoted?.version !== version.version) await this.deps.registry.promote(job.task, version.version);
        }
        next = await this.save(
          job,
          {
            state: 'succeeded',
            outcome: decision.promote ? 'promoted' : 'rejected',
            progress: 1,
            finishedAt: this.now(),
            steps: {
              evaluation: summarizeEvaluation(evaluation),
              gate: decision,
              ...(report ? { report } : {}),
              ...(decision.promote && task.config.distill.canary.enabled ? { canary: initialCanary(version, task.config.distill.canary.steps, this.now()) } : {}),
            },
          },
          this.entry(decision.promote ? 'info' : 'warn', `${decision.promote ? 'promoted' : 'rejected'} ${version.id}: ${decision.reasons.join('; ')}`),
        );
        break;
      }
      default:
        return job;
    }
    await this.deps.afterStep?.(next, job.state);
    return next;
  }

  private async buildDatasetStep(job: JobRecord, task: TaskRuntime) {
    const settings = task.config.distill.dataset;
    const datasetId = (job.spec as { datasetId?: string } | undefined)?.datasetId ?? (job.kind === 'dataset' ? job.id : settings.datasetId);
    const path = datasetPathOf(job);
    const existing = await this.deps.artifacts.get(`${path}/manifest.json`);
    let manifest: DatasetManifest;
    if (existing) {
      manifest = JSON.parse(text(existing)) as DatasetManifest;
    } else {
      const sourceSplits = new Map<string, string>();
      const pairs = tapSplits(this.deps.pairs.list({ task: job.task, ...(datasetId ? { datasetId } : {}) }), sourceSplits);
      let dataset = await buildDataset(newest(pairs, settings.maxPairs), {
        task: job.task,
        version: job.id,
        jobId: job.id,
        now: this.now(),
        settings: { ...settings, ...(datasetId ? { datasetId } : {}) },
        ...(task.config.classification ? { classification: task.config.classification } : {}),
        ...(task.parseLabel ? { parseLabel: task.parseLabel } : {}),
      });
      if (job.kind === 'dataset' && this.deps.applySourceSplits) dataset = this.deps.applySourceSplits(job, dataset, sourceSplits);
      manifest = dataset.manifest;
      if (manifest.counts.kept < settings.minExamples) {
        throw new JobFailure(
          `Only ${manifest.counts.kept} usable examples for '${job.task}' (minimum ${settings.minExamples}); dropped: ${JSON.stringify(manifest.counts.dropped)}.`,
          'not_enough_data',
        );
      }
      // Files first, manifest last: a manifest means the dataset version is complete.
      await this.deps.artifacts.upsert(`${path}/examples.jsonl`, jsonl(dataset.examples), { contentType: 'application/jsonl' });
      let validation: ChatDatasetReport | undefined;
      if (!task.parseLabel) {
        const train = toChatFineTuningJsonl(dataset.examples.filter((e) => e.split === 'train'));
        await this.deps.artifacts.upsert(`${path}/train.jsonl`, train, { contentType: 'application/jsonl' });
        await this.deps.artifacts.upsert(`${path}/validation.jsonl`, toChatFineTuningJsonl(dataset.examples.filter((e) => e.split === 'validation')), { contentType: 'application/jsonl' });
        if (this.deps.countTokens) {
          validation = validateChatDataset(train, this.deps.countTokens);
          await this.deps.artifacts.upsert(`${path}/validation-report.json`, JSON.stringify(validation, null, 2));
        }
      }
      await this.deps.artifacts.upsert(`${path}/manifest.json`, JSON.stringify(manifest, null, 2), { contentType: 'application/json' });
    }
    return {
      path,
      version: manifest.version,
      contentHash: manifest.contentHash,
      kept: manifest.counts.kept,
      train: manifest.counts.train,
      validation: manifest.counts.validation,
      test: manifest.counts.test,
      dropped: manifest.counts.dropped,
      ...(manifest.classBalance ? { labels: Object.keys(manifest.classBalance).length } : {}),
    };
  }

  private async loadExamples(job: JobRecord): Promise<DatasetExample[]> {
    const bytes = await this.deps.artifacts.get(`${datasetPathOf(job)}/examples.jsonl`);
    if (!bytes) throw new JobFailure(`Dataset of job '${job.id}' is missing from the artifact store.`, 'dataset_missing');
    return text(bytes)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as DatasetExample);
  }

  private async versionOfJob(job: JobRecord): Promise<ModelVersion | undefined> {
    for await (const v of this.deps.registry.list(job.task)) if (v.lineage.jobId === job.id) return v;
    return undefined;
  }

  private async trainStep(job: JobRecord, task: TaskRuntime, abortSignal: AbortSignal | undefined): Promise<ModelVersion> {
    // A registered version of this job means training finished before a crash: reuse it.
    const existing = await this.versionOfJob(job);
    if (existing) return existing;
    const trainerKind = task.config.distill.trainer;
    const trainer = this.deps.trainers[trainerKind];
    if (!trainer) throw new JobFailure(`Trainer '${trainerKind}' is not available in this deployment.`, 'trainer_unavailable');
    const examples = await this.loadExamples(job);
    const teacherModel = this.deps.teacherModelId(task);
    const trained = await trainer.train(
      {
        jobId: job.id,
        task: task.config,
        datasetPath: datasetPathOf(job),
        train: examples.filter((e) => e.split === 'train'),
        validation: examples.filter((e) => e.split === 'validation'),
        teacherModel,
      },
      { ...(abortSignal ? { abortSignal } : {}) },
    );
    return this.deps.registry.create({
      task: job.task,
      kind: trained.kind,
      ...(trained.artifactPath ? { artifactPath: trained.artifactPath } : {}),
      ...(trained.endpoint ? { endpoint: trained.endpoint } : {}),
      lineage: { jobId: job.id, datasetVersion: datasetPathOf(job), teacherModel, hyperparameters: trained.hyperparameters },
      metrics: trained.metrics,
    });
  }

  private async evaluateStep(job: JobRecord, task: TaskRuntime) {
    const version = await this.versionOfJob(job);
    if (!version) throw new JobFailure(`No model version was registered for job '${job.id}'.`, 'version_missing');
    const examples = await this.loadExamples(job);
    const test = examples.filter((e) => e.split === 'test');
    const candidate = await this.deps.loadStudent(version);
    const promoted = await this.deps.registry.getPromoted(job.task);
    const current = promoted && promoted.version !== version.version ? await this.deps.loadStudent(promoted) : undefined;
    const gate = task.config.distill.gate;
    try {
      const evaluation = await evaluateCandidate({ task, test, candidate, ...(current ? { current } : {}), gate });
      const decision = decidePromotion(evaluation, gate);
      const report =
        job.kind === 'dataset' && this.deps.report
          ? await this.deps.report(job, { test, train: examples.filter((e) => e.split === 'train'), candidate, evaluation, version })
          : undefined;
      return { evaluation, decision, version, report };
    } finally {
      // In-process models hold an inference session; evaluation copies must not linger.
      for (const m of [candidate, current]) await (m as { release?: () => Promise<void> } | undefined)?.release?.();
    }
  }
}

/** Passes pairs through, noting each one's source split (dataset jobs keep the spec's splits). */
async function* tapSplits(pairs: AsyncIterable<PairRecord>, splits: Map<string, string>): AsyncIterable<PairRecord> {
  for await (const p of pairs) {
    if (p.source.split) splits.set(p.id, p.source.split);
    yield p;
  }
}

/** Keeps the newest `max` records of an ascending stream without holding more than `max`. */
async function* newest(pairs: AsyncIterable<PairRecord>, max: number): AsyncIterable<PairRecord> {
  const ring: PairRecord[] = [];
  let start = 0;
  for await (const p of pairs) {
    if (ring.length < max) ring.push(p);
    else {
      ring[start] = p;
      start = (start + 1) % max;
    }
  }
  for (let i = 0; i < ring.length; i++) yield ring[(start + i) % ring.length]!;
}

function summarizeArm(a: ArmEvaluation) {
  return {
    model: a.model,
    n: a.n,
    errors: a.errors,
    agreement: a.agreement,
    ...(a.agreementInterval ? { agreementInterval: a.agreementInterval } : {}),
    ...(a.accuracy ? { accuracy: a.accuracy } : {}),
    latency: a.latency,
  };
}

export function summarizeEvaluation(e: CandidateEvaluation) {
  return {
    testExamples: e.testExamples,
    candidate: summarizeArm(e.candidate),
    ...(e.current ? { current: summarizeArm(e.current) } : {}),
    ...(e.nonInferiority ? { nonInferiority: e.nonInferiority } : {}),
    ...(e.mcnemar ? { mcnemar: e.mcnemar } : {}),
  };
}


