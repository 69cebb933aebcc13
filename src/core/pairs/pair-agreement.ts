import { extractMathAnswer } from '../distill/task-types.js';
import { normalizeAnswer } from '../eval/text-metrics.js';
import { normalizeLabelText } from '../tasks/classification-task.js';
import { goldReference, type PairRecord } from './pair-record.js';

// "Agreement of a pair": whether the student said what the teacher said on one request. The one
// definition used by the canary, the drift trigger, the online report and telemetry, so they can
// never judge the same pair differently. One normalisation per kind of task:
//
// - label  (classification / NLI): the parsed labels are equal. Labels come from the pair record
//          (parsed by the task's label parser when the pair was written), else are parsed now.
// - number (math): the final numbers are equal (GSM8K's `#### n`, else "the answer is n", else the
//          last number; `$`, thousands separators and trailing `.0` ignored).
// - text   (everything else): SQuAD-normalised exact match — lowercase, punctuation and the
//          articles a/an/the removed, whitespace collapsed. Chosen over a chrF threshold because it
//          is a yes/no outcome with no tunable cut-off, so Wilson intervals, drift floors and
//          canary floors apply to it directly; graded overlap (chrF) is reported beside it.
//
// A pair is `not_comparable` when either arm is missing, failed, or the teacher's answer has no
// label / number / text to compare with. A student answer with no label or number where the
// teacher has one is a disagreement: that is what the user would have received.

export type AgreementKind = 'label' | 'number' | 'text';
export type PairVerdict = 'agree' | 'disagree' | 'not_comparable';

/** What pairAgreement needs to know of a task (a TaskRuntime fits). */
export interface AgreementTask {
  parseLabel?: (text: string) => string | null;
  config?: { distill?: { gate?: { taskType?: string } } };
}

/** The normalisation a task's pairs are judged by. Without a task, pairs with labels are label pairs. */
export function agreementKind(task: AgreementTask | undefined, pair?: Pick<PairRecord, 'labels'>): AgreementKind {
  if (task?.parseLabel) return 'label';
  const type = task?.config?.distill?.gate?.taskType;
  if (type === 'nli' || type === 'classification') return 'label';
  if (type === 'math') return 'number';
  if (!task && pair?.labels) return 'label';
  return 'text';
}

export const AGREEMENT_DEFINITION: Record<AgreementKind, string> = {
  label: 'parsed label equality',
  number: 'final-number equality',
  text: 'SQuAD-normalised exact match',
};

/** An answer in the form its kind compares: the label, the final number or normalised text; null when there is none. */
export function comparableAnswer(kind: AgreementKind, text: string | null | undefined, task?: AgreementTask): string | null {
  if (typeof text !== 'string' || text.trim() === '') return null;
  if (kind === 'number') return extractMathAnswer(text);
  if (kind === 'text') return normalizeAnswer(text);
  const parsed = task?.parseLabel ? task.parseLabel(text) : text;
  return parsed === null || parsed.trim() === '' ? null : normalizeLabelText(parsed);
}

function armAnswer(pair: PairRecord, arm: 'teacher' | 'student', kind: AgreementKind, task: AgreementTask | undefined): string | null {
  const stored = kind === 'label' ? pair.labels?.[arm] : undefined;
  if (stored !== undefined) return stored === null ? null : normalizeLabelText(stored);
  return comparableAnswer(kind, pair[arm]?.text, task);
}

/** Whether an arm's answer equals the gold reference (a reviewer's label, else the dataset's) by the same normalisation; undefined without either. */
export function matchesReference(pair: PairRecord, arm: 'teacher' | 'student', task?: AgreementTask): boolean | undefined {
  const out = pair[arm];
  const ref = goldReference(pair);
  if (!out || out.error || ref === undefined) return undefined;
  const kind = agreementKind(task, pair);
  // A gold label is the label itself, not an answer to parse.
  const gold = kind === 'label' ? comparableAnswer(kind, ref) : comparableAnswer(kind, ref, task);
  if (gold === null) return undefined;
  return armAnswer(pair, arm, kind, task) === gold;
}

function compare(teacher: string | null, student: string | null): PairVerdict {
  if (teacher === null) return 'not_comparable';
  return student !== null && student === teacher ? 'agree' : 'disagree';
}

/** Whether the two arms of one pair agree, by the task's one normalisation. */
export function pairAgreement(pair: PairRecord, task?: AgreementTask): PairVerdict {
  const t = pair.teacher;
  const s = pair.student;
  if (!t || !s || t.error || s.error) return 'not_comparable';
  const kind = agreementKind(task, pair);
  return compare(armAnswer(pair, 'teacher', kind, task), armAnswer(pair, 'student', kind, task));
}
