import type { Arm, FinishReason, TokenLogprob, Usage } from '../chat/chat-model-types.js';
import type { ChatMessage } from '../chat/chat-request-schema.js';
import type { ErrorSummary } from '../errors.js';

// One served request with what each arm answered: the unit of synthetic training data (stage 1 of
// distillation) and of online evaluation. Written once; never half-written (stores upsert whole
// records by id, so a retried write is idempotent).

export interface ArmOutput {
  /** Model that answered: upstream deployment name, or `task@version` for a registry student. */
  model: string;
  text?: string;
  finishReason?: FinishReason;
  usage?: Usage;
  logprobs?: TokenLogprob[] | null;
  confidence?: number;
  labelProbabilities?: Record<string, number>;
  latencyInMs: number;
  costUsd?: number;
  error?: ErrorSummary;
  /** How the arm took part: served the client, ran in the background, or was escalated to. */
  role: 'served' | 'shadow' | 'cascade_first' | 'escalated' | 'fallback_failed';
}

export interface PairSource {
  kind: 'traffic' | 'dataset';
  datasetId?: string;
  split?: 'train' | 'validation' | 'test';
  exampleId?: string;
  /** Gold label or reference answer, when a dataset provides one (never from traffic). */
  reference?: string;
}

export interface PairRecord {
  id: string;
  task: string;
  tenant: string;
  /** Public id of the API key that made the request (never the key): per-key usage and spend. */
  keyId?: string;
  /** ISO-8601 time the request arrived. */
  createdAt: string;
  request: {
    messages: ChatMessage[];
    params: Record<string, unknown>;
    user?: string;
    metadata?: Record<string, string>;
  };
  servedArm: Arm;
  /** Why the router chose the served arm (same text as the x-distillery-reason header). */
  reason: string;
  policy: string;
  teacher?: ArmOutput;
  student?: ArmOutput;
  /** For classification tasks: the labels parsed from each arm and whether the pair may train. */
  labels?: { teacher?: string | null; student?: string | null; usableForTraining: boolean };
  source: PairSource;
  /** Redaction applied to the stored text, e.g. ['email', 'phone']. */
  redacted?: string[];
  /** What a reviewer said about the pair (POST /admin/pairs/{id}/feedback); its gold label feeds accuracy. */
  feedback?: PairFeedback;
}

export interface PairFeedback {
  /** The correct label or answer, as a reviewer gave it: outranks a dataset's reference. */
  gold?: string;
  thumbs?: 'up' | 'down';
  /** 0..1, the reviewer's grade of the served answer. */
  score?: number;
  comment?: string;
  at: string;
  /** Key id of the reviewer (never the key). */
  by?: string;
}

/** The pair's gold answer: a reviewer's label first, else the dataset's reference. */
export function goldReference(pair: Pick<PairRecord, 'source' | 'feedback'>): string | undefined {
  return pair.feedback?.gold ?? pair.source?.reference;
}

export interface PairQuery {
  task: string;
  /** Undefined means every tenant: only internal jobs and admin reports may ask for that. */
  tenant?: string;
  /** Inclusive ISO lower bound on createdAt. */
  since?: string;
  /** Exclusive ISO upper bound on createdAt. */
  until?: string;
  sourceKind?: PairSource['kind'];
  datasetId?: string;
  limit?: number;
}
