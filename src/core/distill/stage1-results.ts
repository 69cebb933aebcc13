import type { Usage } from '../chat/chat-model-types.js';
import { summarizeError } from '../errors.js';
import { summarizeLatencies } from '../eval/latency-summary.js';
import type { DistillationSpec } from './distillation-spec.js';
import type { Stage1Summary } from './job-steps.js';

// What stage 1 of a dataset job leaves in the artifact store: the plan (how the rows were split
// into chunks), one result per chunk, and the summary over all of them that the job keeps.

export const STAGE1_CHUNK_KIND = 'stage1-chunk';

export const stage1PathOf = (jobId: string) => `distillations/${jobId}`;

export interface ChunkResult {
  index: number;
  examples: number;
  ok: number;
  failed: number;
  /** Answered in an earlier (interrupted) run of the chunk: not asked again. */
  reused: number;
  calls: number;
  retries: number;
  throttled: number;
  /** Failures by error code (after retries). */
  errors: Record<string, number>;
  usage: Usage;
  costUsd: number;
  latenciesInMs: number[];
  durationInMs: number;
  /** Why a chunk given up on its last delivery failed. */
  lastError?: { status: number; code: string; message: string };
}

export interface Plan {
  chunks: number;
  examples: number;
  train: number;
  validation: number;
  duplicates: number;
  chunkSize: number;
}

/** A chunk given up after its last delivery: every example counts as failed. */
export function failedChunk(index: number, examples: number, err: unknown): ChunkResult {
  return {
    index,
    examples,
    ok: 0,
    failed: examples,
    reused: 0,
    calls: 0,
    retries: 0,
    throttled: 0,
    errors: { chunk_failed: examples },
    usage: { promptTokens: 0, completionTokens: 0 },
    costUsd: 0,
    latenciesInMs: [],
    durationInMs: 0,
    lastError: summarizeError(err),
  };
}

/** Stage 1 over all chunks: counts, success ratio, failures by cause, tokens, cost, latency. */
export function summarizeStage1(plan: Plan, results: readonly ChunkResult[], spec: Pick<DistillationSpec, 'min_success_ratio'>): Stage1Summary {
  const sum = (f: (r: ChunkResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const ok = sum((r) => r.ok);
  const examples = sum((r) => r.examples);
  return {
    chunks: plan.chunks,
    examples,
    train: plan.train,
    validation: plan.validation,
    duplicatesDropped: plan.duplicates,
    ok,
    failed: sum((r) => r.failed),
    reused: sum((r) => r.reused),
    successRatio: examples ? ok / examples : 0,
    minSuccessRatio: spec.min_success_ratio,
    calls: sum((r) => r.calls),
    retries: sum((r) => r.retries),
    throttled: sum((r) => r.throttled),
    errors,
    usage: { promptTokens: sum((r) => r.usage.promptTokens), completionTokens: sum((r) => r.usage.completionTokens) },
    costUsd: sum((r) => r.costUsd),
    latency: summarizeLatencies(results.flatMap((r) => r.latenciesInMs)),
    chunkDurationsInMs: results.map((r) => r.durationInMs),
  };
}
