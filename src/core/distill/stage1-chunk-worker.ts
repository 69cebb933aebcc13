import type { ChatModelRequest, ChatModelResult } from '../chat/chat-model-types.js';
import { DistilleryError, isAbortError, summarizeError, UpstreamError } from '../errors.js';
import type { PairRecord } from '../pairs/pair-record.js';
import type { ChatModel, JobRecord, OperationOptions } from '../ports.js';
import { abortableSleep, backoffDelayInMs, retryHintInMs } from '../retry.js';
import { readJson, type DatasetJobsDeps } from './dataset-job-deps.js';
import { labelsOf, type DatasetRow, type DistillationSpec } from './distillation-spec.js';
import { JobFailure } from './job-failure.js';
import type { JobMessageBody } from './job-messages.js';
import { specOf } from './spec-to-task.js';
import { chunkResults, chunksDone, saveStage1Steps } from './stage1-fan-out.js';
import { failedChunk, stage1PathOf, type ChunkResult, type Plan } from './stage1-results.js';
import { teacherAnswerText, teacherRequest, trainingMessages } from './teacher-request.js';

export { teacherRequest } from './teacher-request.js';
import { extractAnswer, isUsableAnswer } from './task-types.js';

// One stage-1 chunk, on whichever worker receives its message: the teacher answers each row with
// bounded concurrency and one pair record per example is written with id `${job}:${example}`, so
// a chunk that runs twice (a redelivery, a worker killed mid-way) never duplicates a pair and
// skips the examples already answered; then a result marker. The worker that writes the last
// marker sends the `dataset` message that re-enters the job.

const statusOf = (err: unknown) => (err instanceof UpstreamError ? err.upstreamStatus : err instanceof DistilleryError ? err.status : undefined);

/** The `stage1-chunk` message handler. Throws only for what a redelivery can cure (store down, abort). */
export async function handleChunk(deps: DatasetJobsDeps, body: JobMessageBody, options: OperationOptions & { deliveryCount: number }): Promise<void> {
  const index = Number(body.chunk);
  if (!Number.isInteger(index) || index < 0) throw new JobFailure(`Chunk message of '${body.jobId}' has no valid chunk index.`, 'invalid_chunk_message');
  const job = await deps.jobs.get(body.jobId, { task: body.task });
  if (!job || job.kind !== 'dataset' || job.state !== 'generating') return; // gone, failed, cancelled or already past stage 1
  const base = stage1PathOf(job.id);
  const io = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  if (!(await deps.artifacts.get(`${base}/results/${index}.json`, io))) {
    const chunk = await readJson<{ index: number; rows: DatasetRow[] }>(deps, `${base}/chunks/${index}.json`, io);
    if (!chunk) throw new JobFailure(`Chunk ${index} of '${job.id}' is missing from the artifact store.`, 'chunk_missing');
    let result: ChunkResult;
    try {
      const failureBudget = await failureBudgetOf(deps, job, index, io);
      result = await runChunk(deps, job, chunk.index, chunk.rows, options.abortSignal, failureBudget);
    } catch (err) {
      if (isAbortError(err) || options.abortSignal?.aborted || options.deliveryCount < (deps.maxDeliveries ?? Infinity)) throw err;
      deps.log?.(`job ${job.id}: chunk ${index} failed on its last delivery (${summarizeError(err).message}); counted as failed`);
      result = failedChunk(chunk.index, chunk.rows.length, err);
    }
    const plan = await readJson<Plan>(deps, `${base}/plan.json`, io);
    const done = (await chunksDone(deps, job.id, io)) + 1;
    // Progress before the marker: once every marker exists no chunk writes to the job any more,
    // so the job's own next step never races a progress update.
    await saveStage1Steps(deps, job.id, job.task, {}, () => (plan ? 0.05 + 0.35 * Math.min(1, done / plan.chunks) : undefined));
    await deps.artifacts.upsert(`${base}/results/${index}.json`, JSON.stringify(result), { ...io, contentType: 'application/json' });
    deps.log?.(`job ${job.id}: chunk ${index} done (${result.ok}/${result.examples} ok, ${result.reused} reused)`);
  }
  // Whoever sees every marker re-enters the job; two finishing together send the same message id.
  const plan = await readJson<Plan>(deps, `${base}/plan.json`, io);
  if (plan && (await chunksDone(deps, job.id, io)) >= plan.chunks) {
    await deps.queue.send({ messageId: `${job.id}:stage2`, body: { jobId: job.id, task: job.task, kind: 'dataset' } }, io);
  }
}

/**
 * How many more examples this chunk may fail before the job's success floor is out of reach,
 * counting the failures of chunks already done (running chunks are not counted: never too early).
 */
async function failureBudgetOf(deps: DatasetJobsDeps, job: JobRecord, index: number, io: OperationOptions): Promise<number> {
  const plan = await readJson<Plan>(deps, `${stage1PathOf(job.id)}/plan.json`, io);
  if (!plan) return Infinity;
  let failed = 0;
  for (const [i, r] of await chunkResults(deps, job.id, io)) if (i !== index) failed += r.failed;
  return Math.floor((1 - specOf(job).min_success_ratio) * plan.examples + 1e-9) - failed;
}

/** A chunk's run: its figures, and the pause a 429 puts on every call of the chunk. */
interface ChunkRun {
  deps: DatasetJobsDeps;
  job: JobRecord;
  spec: DistillationSpec;
  teacher: ChatModel;
  signal: AbortSignal | undefined;
  result: ChunkResult;
  pausedUntil: number;
  /** Failed calls in a row (the job's breaker) and pauses so far. */
  failuresInRow: number;
  pauses: number;
}

async function runChunk(deps: DatasetJobsDeps, job: JobRecord, index: number, rows: readonly DatasetRow[], parent: AbortSignal | undefined, failureBudget = Infinity): Promise<ChunkResult> {
  // One listener on the worker's signal per chunk; the chunk's calls listen to their own.
  const local = new AbortController();
  const forward = () => local.abort(parent!.reason);
  if (parent?.aborted) forward();
  parent?.addEventListener('abort', forward, { once: true });
  try {
    return await runChunkWith(deps, job, index, rows, parent ? local.signal : undefined, failureBudget);
  } finally {
    parent?.removeEventListener('abort', forward);
  }
}

async function runChunkWith(deps: DatasetJobsDeps, job: JobRecord, index: number, rows: readonly DatasetRow[], signal: AbortSignal | undefined, failureBudget: number): Promise<ChunkResult> {
  const spec = specOf(job);
  const started = deps.clock.now();
  // Stage 1 has its own breaker (pause, see askTeacher): the serving breaker would fail fast and hide the cause.
  const teacher = deps.stage1Model?.(spec.teacher) ?? deps.model(spec.teacher);
  const run: ChunkRun = { deps, job, spec, teacher, signal, pausedUntil: 0, failuresInRow: 0, pauses: 0, result: emptyResult(index, rows.length) };
  const batch: PairRecord[] = [];
  let writing: Promise<void> = Promise.resolve();
  const flush = (withSignal = true) => {
    const pairs = batch.splice(0);
    if (pairs.length) writing = writing.then(() => deps.pairs.upsertMany(pairs, withSignal && signal ? { abortSignal: signal } : {}));
    return writing;
  };
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      if (run.result.failed > failureBudget) {
        // The job's success floor is out of reach: stop paying for answers that cannot save it.
        const skipped = rows.length - next;
        next = rows.length;
        run.result.failed += skipped;
        run.result.errors.floor_unreachable = (run.result.errors.floor_unreachable ?? 0) + skipped;
        deps.log?.(`job ${job.id}: chunk ${index} stopped early, min_success_ratio ${spec.min_success_ratio} can no longer be reached (${skipped} examples not asked)`);
        break;
      }
      const pair = await answerRow(run, rows[next++]!);
      if (!pair) continue;
      batch.push(pair);
      if (batch.length >= 25) await flush();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(spec.concurrency, rows.length) }, worker));
  } catch (err) {
    // A worker being stopped keeps the answers it already paid for: the rerun reuses them.
    await flush(false).catch(() => undefined);
    throw err;
  }
  await flush();
  run.result.durationInMs = deps.clock.now() - started;
  return run.result;
}

function emptyResult(index: number, examples: number): ChunkResult {
  const usage = { promptTokens: 0, completionTokens: 0 };
  return { index, examples, ok: 0, failed: 0, reused: 0, calls: 0, retries: 0, throttled: 0, errors: {}, usage, costUsd: 0, latenciesInMs: [], durationInMs: 0 };
}

/** The pair record of one row, or undefined when an earlier run already answered it. */
async function answerRow(run: ChunkRun, row: DatasetRow): Promise<PairRecord | undefined> {
  const { deps, job, spec, teacher, result: r } = run;
  const id = `${job.id}:${row.id}`;
  const tenant = job.tenant ?? '*';
  const existing = await deps.pairs.get(job.task, tenant, id, run.signal ? { abortSignal: run.signal } : {});
  if (existing?.teacher?.text !== undefined && !existing.teacher.error) {
    r.reused++;
    r.ok++;
    return undefined;
  }
  const request = teacherRequest(spec, row);
  const { result, failure, latencyInMs } = await askTeacher(run, request);
  const pair: PairRecord = {
    id,
    task: job.task,
    tenant,
    createdAt: new Date(deps.clock.now()).toISOString(),
    // What the dataset trains on: the teacher's prompt without a JSON format instruction (teacher-request.ts).
    request: { messages: trainingMessages(spec, row), params: { temperature: request.temperature, top_p: request.top_p, max_tokens: request.max_tokens } },
    servedArm: 'teacher',
    reason: `dataset distillation stage 1 (${spec.task_type})`,
    policy: 'dataset',
    source: { kind: 'dataset', datasetId: job.id, split: row.split, exampleId: row.id, ...(row.reference !== undefined ? { reference: row.reference } : {}) },
    teacher: { model: teacher.id, latencyInMs, role: 'served' },
  };
  if (result) recordAnswer(run, pair, request, result, latencyInMs);
  else {
    const summary = summarizeError(failure);
    pair.teacher!.error = summary;
    r.failed++;
    r.errors[summary.code] = (r.errors[summary.code] ?? 0) + 1;
  }
  return pair;
}

/** Calls the teacher with capped jittered back-off; an upstream's retry hint pauses the whole chunk. */
async function askTeacher(run: ChunkRun, request: ChatModelRequest): Promise<{ result?: ChatModelResult; failure?: unknown; latencyInMs: number }> {
  const { deps, spec, signal, result: r } = run;
  const sleep = deps.sleep ?? abortableSleep;
  const backoff = { baseDelayInMs: spec.retry.base_delay_ms, maxDelayInMs: spec.retry.max_delay_ms };
  let failure: unknown;
  let latencyInMs = 0;
  for (let attempt = 1; attempt <= spec.retry.max_attempts; attempt++) {
    const wait = run.pausedUntil - deps.clock.now();
    if (wait > 0) await sleep(wait, signal);
    signal?.throwIfAborted();
    const t0 = performance.now();
    r.calls++;
    try {
      const result = await run.teacher.generate(request, signal ? { abortSignal: signal } : {});
      run.failuresInRow = 0;
      return { result, latencyInMs: performance.now() - t0 };
    } catch (err) {
      latencyInMs = performance.now() - t0;
      if (isAbortError(err) || signal?.aborted) throw err;
      failure = err;
      pauseAfterFailures(run, backoff);
      const retryable = err instanceof DistilleryError ? err.retryable : true;
      if (!retryable || attempt === spec.retry.max_attempts) break;
      r.retries++;
      if (statusOf(err) === 429) r.throttled++;
      const hinted = retryHintInMs(err);
      const delay = Math.min(backoff.maxDelayInMs, hinted ?? backoffDelayInMs(attempt, backoff));
      if (hinted !== undefined) run.pausedUntil = Math.max(run.pausedUntil, deps.clock.now() + delay);
      await sleep(delay, signal);
    }
  }
  return { failure, latencyInMs };
}

/** The job's breaker: enough failures in a row pause every call of the chunk, longer each time. */
function pauseAfterFailures(run: ChunkRun, backoff: { baseDelayInMs: number; maxDelayInMs: number }): void {
  if (++run.failuresInRow < run.spec.retry.pause_after_failures) return;
  run.failuresInRow = 0;
  const pause = Math.min(backoff.maxDelayInMs, backoffDelayInMs(++run.pauses, backoff));
  run.pausedUntil = Math.max(run.pausedUntil, run.deps.clock.now() + pause);
}

function recordAnswer(run: ChunkRun, pair: PairRecord, request: ChatModelRequest, result: ChatModelResult, latencyInMs: number): void {
  const { deps, spec, teacher, result: r } = run;
  const labels = labelsOf(spec);
  r.latenciesInMs.push(latencyInMs);
  r.usage.promptTokens += result.usage.promptTokens;
  r.usage.completionTokens += result.usage.completionTokens;
  // The configured id first (its `priceAs` says what the call is billed as); else the upstream's
  // own model name, which finds a price when our id is an unpriced alias ('teacher').
  const cost = deps.price?.(teacher.id, teacher.hosting, result.usage, latencyInMs) ?? deps.price?.(result.model, teacher.hosting, result.usage, latencyInMs);
  if (cost !== undefined) r.costUsd += cost;
  // A JSON reply (chain-of-thought as JSON, chain-of-density) holds the answer; none is an unusable one.
  const answerText = teacherAnswerText(spec, result.text);
  const extracted = answerText === null ? { target: '', answer: null } : extractAnswer(spec.task_type, answerText, { ...(labels ? { labels } : {}), keepReasoning: spec.student.kind === 'remote' });
  const usable = isUsableAnswer(spec.task_type, extracted);
  pair.teacher = {
    ...pair.teacher!,
    model: result.model,
    text: extracted.target,
    finishReason: result.finishReason,
    usage: result.usage,
    ...(cost !== undefined ? { costUsd: cost } : {}),
    // The dataset builder turns the first token's top logprobs into the teacher's label distribution.
    ...(request.logprobs && result.logprobs?.length ? { logprobs: result.logprobs } : {}),
  };
  if (labels) pair.labels = { teacher: extracted.answer, usableForTraining: usable };
  if (result.finishReason === 'length' && !spec.teacher_settings.accept_truncated) {
    // Cut at max_tokens: paid for, but not the teacher's answer. Its own cause tells the operator
    // to raise max_tokens (or accept truncation) rather than hunt for an upstream fault.
    r.failed++;
    r.errors.truncated = (r.errors.truncated ?? 0) + 1;
    pair.teacher.error = { status: 422, code: 'truncated', message: `the answer was cut at max_tokens (${request.max_tokens ?? 'default'})` };
    if (pair.labels) pair.labels.usableForTraining = false;
    return;
  }
  if (usable) {
    r.ok++;
    return;
  }
  r.failed++;
  r.errors.unusable_answer = (r.errors.unusable_answer ?? 0) + 1;
  // An answer outside the task's shape must not train the student (the builder drops errors).
  pair.teacher.error = { status: 422, code: 'unusable_answer', message: `the answer holds no usable ${labels ? 'label' : 'answer'}` };
}
