import type { Arm } from '../chat/chat-model-types.js';
import { messageText } from '../chat/chat-request-schema.js';
import { pairAgreement, type AgreementTask, type PairVerdict } from './pair-agreement.js';
import type { ArmOutput, PairRecord } from './pair-record.js';

// What the pair browser (GET /admin/pairs, the console) filters on and shows of a pair in a list.
// The verdict is the one definition of agreement (pair-agreement.ts), judged by the task's kind.

export interface PairFilter {
  arm?: Arm;
  /** Substring of the routing reason, case-insensitive (reasons carry detail, e.g. 'cascade: confidence 0.41'). */
  reason?: string;
  verdict?: PairVerdict;
  /** Either arm's model, e.g. `intents@3` or `gpt-4o`. */
  model?: string;
  /** Only pairs with (true) or without (false) reviewer feedback. */
  hasFeedback?: boolean;
}

export function pairMatches(pair: PairRecord, filter: PairFilter, task?: AgreementTask): boolean {
  if (filter.arm !== undefined && pair.servedArm !== filter.arm) return false;
  if (filter.reason !== undefined && !pair.reason.toLowerCase().includes(filter.reason.toLowerCase())) return false;
  if (filter.model !== undefined && pair.teacher?.model !== filter.model && pair.student?.model !== filter.model) return false;
  if (filter.hasFeedback !== undefined && (pair.feedback !== undefined) !== filter.hasFeedback) return false;
  if (filter.verdict !== undefined && pairAgreement(pair, task) !== filter.verdict) return false;
  return true;
}

const EXCERPT = 160;
const excerpt = (text: string | undefined) => (text === undefined ? null : text.length > EXCERPT ? `${text.slice(0, EXCERPT - 1)}…` : text);

function armSummary(out: ArmOutput | undefined) {
  if (!out) return null;
  return {
    model: out.model,
    role: out.role,
    answer: excerpt(out.text),
    latencyInMs: out.latencyInMs,
    costUsd: out.costUsd ?? null,
    error: out.error ? out.error.code : null,
  };
}

/** The last user message: what a reviewer scans a list by. */
export function promptOf(pair: PairRecord): string {
  const users = pair.request.messages.filter((m) => m.role === 'user');
  const last = users[users.length - 1] ?? pair.request.messages[pair.request.messages.length - 1];
  return last ? messageText(last) : '';
}

/** One row of the pair list: excerpts only; the full record is GET /admin/pairs/{id}. */
export function pairSummary(pair: PairRecord, task?: AgreementTask) {
  return {
    object: 'distillery.pair_summary',
    id: pair.id,
    task: pair.task,
    tenant: pair.tenant,
    createdAt: pair.createdAt,
    servedArm: pair.servedArm,
    reason: pair.reason,
    policy: pair.policy,
    verdict: pairAgreement(pair, task),
    prompt: excerpt(promptOf(pair)),
    teacher: armSummary(pair.teacher),
    student: armSummary(pair.student),
    feedback: pair.feedback ?? null,
  };
}

/** The whole record with its verdict. */
export function pairDetail(pair: PairRecord, task?: AgreementTask) {
  return { object: 'distillery.pair', ...pair, verdict: pairAgreement(pair, task), feedback: pair.feedback ?? null };
}
