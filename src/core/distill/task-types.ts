import { sentenceChrf } from '../eval/chrf.js';
import { scoreRouge } from '../eval/rouge.js';
import { normalizedMatch, tokenF1 } from '../eval/text-metrics.js';
import { createLabelParser, normalizeLabelText } from '../tasks/classification-task.js';

// The task types of a dataset distillation job (the ones Azure ML's distillation jobs offer, plus
// plain classification): what the teacher is told, how the answer a student should learn is cut
// out of the teacher's text, and how an answer is scored against a reference. Scores are 0..1.

export const TASK_TYPES = ['nli', 'conversation', 'qa', 'math', 'summarization', 'classification'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const NLI_LABELS = ['entailment', 'neutral', 'contradiction'] as const;

/** Task types whose answer is one label of a fixed set: an ONNX classifier can learn them. */
export const isLabelTask = (t: TaskType) => t === 'nli' || t === 'classification';

export interface TaskTypeSettings {
  type: TaskType;
  /** System prompt given to the teacher (the row's own system message wins). */
  systemPrompt: string;
  /** The metric names `scoreAnswer` returns for this type, main one first. */
  metrics: readonly string[];
}

export const COT_SUFFIX =
  ' Think step by step and write your reasoning first; then end with a last line of the form "Answer: <answer>".';

export function taskTypeSettings(type: TaskType, options: { labels?: readonly string[]; chainOfThought?: boolean; maxSummaryWords?: number } = {}): TaskTypeSettings {
  const cot = options.chainOfThought ? COT_SUFFIX : '';
  switch (type) {
    case 'nli':
      return {
        type,
        systemPrompt:
          'Given a premise and a hypothesis, decide whether the premise entails the hypothesis, contradicts it, or neither. ' +
          `Answer with exactly one word: ${NLI_LABELS.join(', ')}.${cot}`,
        metrics: ['accuracy'],
      };
    case 'classification':
      return {
        type,
        systemPrompt: `Classify the user's message. Answer with exactly one label${options.labels?.length ? ` from: ${options.labels.join(', ')}` : ''}.${cot}`,
        metrics: ['accuracy'],
      };
    case 'qa':
      return { type, systemPrompt: `Answer the question as briefly as possible, with the answer span only.${cot}`, metrics: ['exactMatch', 'tokenF1'] };
    case 'math':
      return {
        type,
        // GSM8K's convention: reasoning, then the final number after '####'.
        systemPrompt: 'Solve the math problem. Reason step by step, then give the final numeric answer on a last line as "#### <number>".',
        metrics: ['exactMatch'],
      };
    case 'summarization':
      return {
        type,
        systemPrompt: `Summarize the text in at most ${options.maxSummaryWords ?? 60} words.`,
        metrics: ['rouge1', 'rouge2', 'rougeL', 'lengthOk'],
      };
    case 'conversation':
      return { type, systemPrompt: 'You are a helpful, concise assistant.', metrics: ['chrF', 'rougeL'] };
  }
}

// --- answer extraction ------------------------------------------------------------------------

const NUMBER = /-?\$?\d[\d,]*(?:\.\d+)?/g;

/** Canonical form of a number as GSM8K compares them: no $, no thousands separators, no trailing .0 */
export function normalizeNumber(text: string): string | null {
  const cleaned = text.replace(/[$,\s]/g, '').replace(/\.$/, '');
  if (!/^-?\d+(?:\.\d+)?$/.test(cleaned)) return null;
  const n = Number(cleaned);
  if (!Number.isFinite(n)) return null;
  return String(n);
}

/**
 * The final numeric answer of a worked solution: `#### 42` (GSM8K), else "the answer is 42" /
 * "Answer: 42" (the last such phrase), else the last number in the text. Null when there is none.
 */
export function extractMathAnswer(text: string): string | null {
  const hashes = /####\s*(-?\$?\d[\d,]*(?:\.\d+)?)/g;
  let m: RegExpExecArray | null;
  let last: string | undefined;
  while ((m = hashes.exec(text))) last = m[1];
  if (last !== undefined) return normalizeNumber(last);
  const phrase = /(?:the\s+(?:final\s+)?answer\s+is|answer\s*[:=])\s*:?\s*(-?\$?\d[\d,]*(?:\.\d+)?)/gi;
  while ((m = phrase.exec(text))) last = m[1];
  if (last !== undefined) return normalizeNumber(last);
  const all = text.match(NUMBER);
  return all?.length ? normalizeNumber(all[all.length - 1]!) : null;
}

/** What follows the last "Answer:" line of a chain-of-thought answer, or the text itself. */
export function stripChainOfThought(text: string): string {
  const lines = text.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^\s*(?:final\s+)?answer\s*[:=]\s*(.+)$/i.exec(lines[i]!);
    if (m) return m[1]!.trim();
    const h = /^\s*####\s*(.+)$/.exec(lines[i]!);
    if (h) return h[1]!.trim();
  }
  return text.trim();
}

export interface ExtractedAnswer {
  /** What the student is trained on: the label, or the whole text for generative students. */
  target: string;
  /** The answer compared with references (label, number, span or text). */
  answer: string | null;
}

/**
 * Cuts the teacher's text into the training target and the scored answer. Reasoning is dropped
 * for label students (a classifier learns the label only) and kept for generative ones (the
 * student learns to reason too); `labels` (label tasks) maps free text onto the label set.
 */
export function extractAnswer(
  type: TaskType,
  text: string,
  options: { labels?: readonly string[]; keepReasoning?: boolean } = {},
): ExtractedAnswer {
  const keep = options.keepReasoning ?? !isLabelTask(type);
  if (isLabelTask(type)) {
    const labels = options.labels ?? (type === 'nli' ? NLI_LABELS : []);
    const parse = createLabelParser({ labels: [...labels], labelFormat: { type: 'label' } });
    const label = parse(stripChainOfThought(text)) ?? parse(text.trim().split(/\s+/)[0] ?? '');
    return { target: label ?? stripChainOfThought(text), answer: label };
  }
  if (type === 'math') {
    const answer = extractMathAnswer(text);
    return { target: keep ? text.trim() : answer ?? text.trim(), answer };
  }
  const stripped = stripChainOfThought(text);
  return { target: keep ? text.trim() : stripped, answer: stripped };
}

// --- metrics ------------------------------------------------------------------------------------

const words = (t: string) => t.split(/\s+/).filter(Boolean).length;

/**
 * Scores one answer against one reference with the task type's metrics (all 0..1). Label tasks
 * compare normalized labels; math compares extracted numbers; qa uses SQuAD exact match and
 * token F1; summarization ROUGE-1/2/L F-measures and whether the length limit held;
 * conversation chrF and ROUGE-L (the judge, when configured, runs over whole sets elsewhere).
 */
export function scoreAnswer(
  type: TaskType,
  prediction: string,
  reference: string,
  options: { labels?: readonly string[]; maxSummaryWords?: number } = {},
): Record<string, number> {
  switch (type) {
    case 'nli':
    case 'classification': {
      const p = extractAnswer(type, prediction, options).answer;
      const r = extractAnswer(type, reference, options).answer ?? reference;
      return { accuracy: p !== null && normalizeLabelText(p) === normalizeLabelText(r) ? 1 : 0 };
    }
    case 'math': {
      const p = extractMathAnswer(prediction);
      const r = extractMathAnswer(reference);
      return { exactMatch: p !== null && p === r ? 1 : 0 };
    }
    case 'qa': {
      const p = stripChainOfThought(prediction);
      return { exactMatch: normalizedMatch(p, reference) ? 1 : 0, tokenF1: tokenF1(p, reference) };
    }
    case 'summarization': {
      const r = scoreRouge(reference, prediction, ['rouge1', 'rouge2', 'rougeL'], { useStemmer: true });
      return {
        rouge1: r.rouge1!.fmeasure,
        rouge2: r.rouge2!.fmeasure,
        rougeL: r.rougeL!.fmeasure,
        lengthOk: words(prediction) <= (options.maxSummaryWords ?? 60) ? 1 : 0,
      };
    }
    case 'conversation': {
      const r = scoreRouge(reference, prediction, ['rougeL']);
      return { chrF: sentenceChrf(prediction, [reference]).score / 100, rougeL: r.rougeL!.fmeasure };
    }
  }
}

/** Mean of each metric over many scored answers (empty input → empty record). */
export function meanScores(rows: readonly Record<string, number>[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const row of rows) for (const [k, v] of Object.entries(row)) sums[k] = (sums[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / rows.length]));
}

/** Whether the extracted answer is usable as a training target (a label of the set, a number, any text). */
export function isUsableAnswer(type: TaskType, extracted: ExtractedAnswer): boolean {
  if (isLabelTask(type) || type === 'math') return extracted.answer !== null;
  return extracted.target.trim().length > 0;
}
