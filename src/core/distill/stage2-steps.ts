import type { PairRecord } from '../pairs/pair-record.js';
import type { ArtifactStore, ChatModel, JobRecord, ModelRegistry, ModelVersion, PairStore, Trainer } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import { initialCanary } from './canary.js';
import { validateChatDataset, type ChatDatasetReport } from './chat-format-validator.js';
import { buildDataset, toChatFineTuningJsonl, type Dataset, type DatasetExample, type DatasetManifest } from './dataset-builder.js';
import { evaluateCascade } from './cascade-evaluation.js';
import { decidePromotion, evaluateCandidate, type ArmEvaluation, type CandidateEvaluation } from './evaluate-candidate.js';
import { datasetPathOf, JobFailure } from './job-failure.js';
import type { JobStep, StepContext } from './job-pipeline.js';
import type { DatasetStepSummary, EvaluationSummary } from './job-steps.js';
import { resolveGate, type GateSettings } from './distill-settings.js';
import { candidateLatencyReport } from './candidate-latency-report.js';
import { measureTeacherSelfAgreement, savedTeacherSelfAgreement, wantsSelfAgreement, type TeacherSelfAgreement } from './teacher-self-agreement.js';
import { DatasetTenantScope, datasetTenantSummary } from './tenant-scope.js';

// Stage 2 of every distillation job: dataset → training → evaluation (and promotion). Each step's
// output goes to the artifact store or the registry under names derived from the job id, so a
// step that runs again (a redelivered message, a worker that died after the work but before
// saving) finds its own earlier output and reuses it.

export interface Stage2Deps {
  pairs: PairStore;
  artifacts: ArtifactStore;
  registry: ModelRegistry;
  trainers: Readonly<Record<string, Trainer>>;
  loadStudent(version: ModelVersion): Promise<ChatModel>;
  teacherModelId(task: TaskRuntime): string;
  now(): string;
  /** The task's teacher, to measure its self-agreement when the gate asks (`calibrateFromTeacher`). */
  teacher?(task: TaskRuntime): ChatModel;
  /** Tokenizer for fine-tuning file validation (cl100k_base). */
  countTokens?: (text: string) => number;
}

/** What a job kind adds to stage 2 (dataset jobs: the spec's splits, the report). */
export interface Stage2Hooks {
  datasetIdOf(job: JobRecord, task: TaskRuntime): string | undefined;
  applySourceSplits?(job: JobRecord, dataset: Dataset, sourceSplits: ReadonlyMap<string, string>): Dataset;
  report?(job: JobRecord, input: ReportInput): Promise<object>;
}

export interface ReportInput {
  test: readonly DatasetExample[];
  train: readonly DatasetExample[];
  candidate: ChatModel;
  evaluation: CandidateEvaluation;
  version: ModelVersion;
}

const jsonl = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Stage 2's steps; the job's progress enters at `from` and training runs from 0.5 to 0.8. */
export function stage2Steps(deps: Stage2Deps, hooks: Stage2Hooks, from: number): JobStep[] {
  return [
    {
      state: 'building_dataset',
      progress: [from, 0.5],
      run: async (job, task) => {
        const summary = await buildDatasetStep(deps, hooks, job, task);
        return {
          steps: { dataset: summary },
          log: { level: 'info', message: `dataset ${summary.path}: ${summary.train} train / ${summary.validation} validation / ${summary.test} test` },
        };
      },
    },
    {
      state: 'training',
      progress: [0.5, 0.8],
      run: async (job, task, context) => {
        const version = await trainStep(deps, job, task, context);
        return {
          steps: { training: { version: version.version, modelId: version.id, metrics: version.metrics ?? {} } },
          log: { level: 'info', message: `trained candidate ${version.id}` },
        };
      },
    },
    { state: 'evaluating', progress: [0.8, 1], run: (job, task, context) => evaluateStep(deps, hooks, job, task, context) },
  ];
}

async function buildDatasetStep(deps: Stage2Deps, hooks: Stage2Hooks, job: JobRecord, task: TaskRuntime): Promise<DatasetStepSummary> {
  const path = datasetPathOf(job);
  const existing = await deps.artifacts.get(`${path}/manifest.json`);
  const manifest = existing ? (JSON.parse(text(existing)) as DatasetManifest) : await writeDataset(deps, hooks, job, task);
  return {
    path,
    version: manifest.version,
    contentHash: manifest.contentHash,
    kept: manifest.counts.kept,
    train: manifest.counts.train,
    validation: manifest.counts.validation,
    test: manifest.counts.test,
    dropped: { ...manifest.counts.dropped },
    ...(manifest.classBalance ? { labels: Object.keys(manifest.classBalance).length } : {}),
    ...datasetTenantSummary(job, manifest),
  };
}

async function writeDataset(deps: Stage2Deps, hooks: Stage2Hooks, job: JobRecord, task: TaskRuntime): Promise<DatasetManifest> {
  const settings = task.config.distill.dataset;
  const datasetId = hooks.datasetIdOf(job, task);
  const path = datasetPathOf(job);
  const sourceSplits = new Map<string, string>();
  const scope = new DatasetTenantScope(job, task.config.trainOn);
  const pairs = tapSplits(scope.filter(deps.pairs.list(scope.query({ task: job.task, ...(datasetId ? { datasetId } : {}) }))), sourceSplits);
  let dataset = await buildDataset(newest(pairs, settings.maxPairs), {
    task: job.task,
    version: job.id,
    jobId: job.id,
    now: deps.now(),
    settings: { ...settings, ...(datasetId ? { datasetId } : {}) },
    ...(task.config.classification ? { classification: task.config.classification } : {}),
    ...(task.parseLabel ? { parseLabel: task.parseLabel } : {}),
  });
  if (hooks.applySourceSplits) dataset = hooks.applySourceSplits(job, dataset, sourceSplits);
  const manifest = dataset.manifest;
  if (manifest.counts.kept < settings.minExamples) {
    throw new JobFailure(
      `Only ${manifest.counts.kept} usable examples for '${job.task}' (minimum ${settings.minExamples}); dropped: ${JSON.stringify(manifest.counts.dropped)}.`,
      'not_enough_data',
    );
  }
  // Files first, manifest last: a manifest means the dataset version is complete.
  await deps.artifacts.upsert(`${path}/examples.jsonl`, jsonl(dataset.examples), { contentType: 'application/jsonl' });
  if (!task.parseLabel) {
    const train = toChatFineTuningJsonl(dataset.examples.filter((e) => e.split === 'train'));
    await deps.artifacts.upsert(`${path}/train.jsonl`, train, { contentType: 'application/jsonl' });
    await deps.artifacts.upsert(`${path}/validation.jsonl`, toChatFineTuningJsonl(dataset.examples.filter((e) => e.split === 'validation')), { contentType: 'application/jsonl' });
    if (deps.countTokens) {
      const validation: ChatDatasetReport = validateChatDataset(train, deps.countTokens);
      await deps.artifacts.upsert(`${path}/validation-report.json`, JSON.stringify(validation, null, 2));
    }
  }
  const stored = scope.manifestWithTenants(manifest);
  await deps.artifacts.upsert(`${path}/manifest.json`, JSON.stringify(stored, null, 2), { contentType: 'application/json' });
  return stored;
}

async function loadExamples(deps: Stage2Deps, job: JobRecord): Promise<DatasetExample[]> {
  const bytes = await deps.artifacts.get(`${datasetPathOf(job)}/examples.jsonl`);
  if (!bytes) throw new JobFailure(`Dataset of job '${job.id}' is missing from the artifact store.`, 'dataset_missing');
  return text(bytes)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DatasetExample);
}

async function versionOfJob(deps: Stage2Deps, job: JobRecord): Promise<ModelVersion | undefined> {
  for await (const v of deps.registry.list(job.task)) if (v.lineage.jobId === job.id) return v;
  return undefined;
}

async function trainStep(deps: Stage2Deps, job: JobRecord, task: TaskRuntime, context: StepContext): Promise<ModelVersion> {
  // A registered version of this job means training finished before a crash: reuse it.
  const existing = await versionOfJob(deps, job);
  if (existing) return existing;
  const trainerKind = task.config.distill.trainer;
  const trainer = deps.trainers[trainerKind];
  if (!trainer) throw new JobFailure(`Trainer '${trainerKind}' is not available in this deployment.`, 'trainer_unavailable');
  const examples = await loadExamples(deps, job);
  const teacherModel = deps.teacherModelId(task);
  const trained = await trainer.train(
    {
      jobId: job.id,
      task: task.config,
      datasetPath: datasetPathOf(job),
      train: examples.filter((e) => e.split === 'train'),
      validation: examples.filter((e) => e.split === 'validation'),
      teacherModel,
    },
    {
      ...(context.abortSignal ? { abortSignal: context.abortSignal } : {}),
      // The trainer reports synchronously from its worker's messages; saving is throttled and async.
      onProgress: (fraction, message) => void context.progress(fraction, message).catch(() => undefined),
    },
  );
  context.abortSignal?.throwIfAborted();
  // A worker silent past its lease may have been replaced while it trained (#15 soak): only the
  // lease holder registers, so a job never gets two versions.
  await context.renewLease?.();
  return deps.registry.create({
    task: job.task,
    kind: trained.kind,
    ...(trained.artifactPath ? { artifactPath: trained.artifactPath } : {}),
    ...(trained.endpoint ? { endpoint: trained.endpoint } : {}),
    lineage: { jobId: job.id, datasetVersion: datasetPathOf(job), teacherModel, hyperparameters: trained.hyperparameters },
    metrics: trained.metrics,
  });
}

async function evaluateStep(deps: Stage2Deps, hooks: Stage2Hooks, job: JobRecord, task: TaskRuntime, context: StepContext) {
  const version = await versionOfJob(deps, job);
  if (!version) throw new JobFailure(`No model version was registered for job '${job.id}'.`, 'version_missing');
  const examples = await loadExamples(deps, job);
  const test = examples.filter((e) => e.split === 'test');
  const candidate = await deps.loadStudent(version);
  const promoted = await deps.registry.getPromoted(job.task);
  const current = promoted && promoted.version !== version.version ? await deps.loadStudent(promoted) : undefined;
  const configured = task.config.distill.gate;
  try {
    const calibration = await calibrateGate(deps, { job, task, test, settings: configured, candidate, context });
    const gate = calibration ? { ...configured, minAgreement: calibration.minAgreement } : configured;
    const kinds = candidateLatencyReport(version, gate);
    const evaluation = await evaluateCandidate({ task, test, candidate, ...(current ? { current } : {}), gate, ...(kinds.studentKind ? { studentKind: kinds.studentKind } : {}) });
    const decision = decidePromotion(evaluation, gate);
    const cascade = await evaluateCascade({ task, test, candidate });
    const report = hooks.report ? await hooks.report(job, { test, train: examples.filter((e) => e.split === 'train'), candidate, evaluation, version }) : undefined;
    if (decision.promote) {
      const nowPromoted = await deps.registry.getPromoted(job.task);
      if (nowPromoted?.version !== version.version) await deps.registry.promote(job.task, version.version);
    }
    const canary = decision.promote && task.config.distill.canary.enabled ? initialCanary(version, task.config.distill.canary.steps, deps.now()) : undefined;
    return {
      outcome: decision.promote ? ('promoted' as const) : ('rejected' as const),
      steps: { evaluation: { ...summarizeEvaluation(evaluation, calibration), ...(kinds.candidates.length ? { candidates: kinds.candidates } : {}) }, gate: decision, ...(cascade ? { cascade } : {}), ...(report ? { report } : {}), ...(canary ? { canary } : {}) },
      log: { level: decision.promote ? ('info' as const) : ('warn' as const), message: `${decision.promote ? 'promoted' : 'rejected'} ${version.id}: ${decision.reasons.join('; ')}` },
    };
  } finally {
    // In-process models hold an inference session; evaluation copies must not linger.
    for (const m of [candidate, current]) await (m as { release?: () => Promise<void> } | undefined)?.release?.();
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

/**
 * The gate's bar from the teacher's self-agreement, when the task asks for it and it can be
 * measured. It costs 2 × samples teacher calls, so it is measured once per job: saved on the record
 * at once, and taken from there when the message is redelivered.
 */
async function calibrateGate(
  deps: Stage2Deps,
  input: { job: JobRecord; task: TaskRuntime; test: readonly DatasetExample[]; settings: GateSettings; candidate: ChatModel; context: StepContext },
): Promise<TeacherSelfAgreement | undefined> {
  const { job, task, settings, context } = input;
  const calibrate = settings.calibrateFromTeacher;
  if (!calibrate) return undefined;
  const resolved = resolveGate(settings, { labelled: task.parseLabel !== undefined, hosting: input.candidate.hosting });
  if (!wantsSelfAgreement(settings, resolved)) return undefined;
  const saved = savedTeacherSelfAgreement(job.steps, resolved, calibrate.factor);
  if (saved) return saved;
  const teacher = deps.teacher?.(task);
  if (!teacher) return undefined;
  const measured = await measureTeacherSelfAgreement({
    teacher,
    gate: resolved,
    test: input.test,
    samples: calibrate.samples,
    factor: calibrate.factor,
    ...(context.abortSignal ? { abortSignal: context.abortSignal } : {}),
  });
  if (measured) await context.saveSteps?.({ teacherSelfAgreement: measured });
  return measured;
}

/** The job record's evaluation: the arms, the tests, and the gate they were judged by (with its calibration). */
export function summarizeEvaluation(e: CandidateEvaluation, calibration?: TeacherSelfAgreement): EvaluationSummary {
  return {
    testExamples: e.testExamples,
    gate: { ...e.gate, minAgreementFrom: calibration ? 'teacher-self-agreement' : 'configured-or-default', ...(calibration ? { teacherSelfAgreement: calibration } : {}) },
    candidate: summarizeArm(e.candidate),
    ...(e.current ? { current: summarizeArm(e.current) } : {}),
    ...(e.nonInferiority ? { nonInferiority: e.nonInferiority } : {}),
    ...(e.mcnemar ? { mcnemar: e.mcnemar } : {}),
  };
}
