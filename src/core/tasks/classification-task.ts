import { z } from 'zod';
import type { TokenLogprob } from '../chat/chat-model-types.js';
import { invalidRequest } from '../errors.js';
import { encoderStudentSettingsSchema } from './encoder-settings.js';

// A classification task as data: its label set, how a label is written in a chat answer, and the
// hyperparameters of the in-process student that learns it. Many "chat" calls are classification
// in disguise; this is what lets a tiny student take them over.

/** How a label appears in the chat response: bare text, or a JSON object `{ [key]: label }`. */
export const labelFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('label') }),
  z.object({ type: z.literal('json'), key: z.string().min(1).max(64).default('label') }),
]);

/** Featurizer settings; stored in the model sidecar so serving featurizes exactly as training did. */
export const featurizerSettingsSchema = z
  .object({
    /** Hash buckets shared by words, word n-grams and char n-grams (rows of the embedding). */
    buckets: z.number().int().min(16).max(4_000_000).default(50_000),
    /** Longest word n-gram (1 = words only, 2 = words and bigrams). */
    word_ngrams: z.number().int().min(1).max(5).default(2),
    /** Char n-gram lengths inside `<word>`; 0 for both turns char n-grams off. */
    char_ngram_min: z.number().int().min(0).max(10).default(3),
    char_ngram_max: z.number().int().min(0).max(10).default(5),
    /** Inputs are cut to this many word tokens (bounds work per request). */
    max_tokens: z.number().int().min(1).max(10_000).default(256),
    /** Two-input tasks: the text is split at this separator and pair features replace n-grams (pair-featurizer.ts). */
    pair_separator: z.string().min(1).max(64).optional(),
    /**
     * Sequence students (the convolutional one): the word ids in order, no n-grams, padded with id
     * `buckets` (an all-zero embedding row) to at least this many, so every filter window fits.
     */
    sequence_pad_to: z.number().int().min(1).max(16).optional(),
  })
  .refine((s) => s.char_ngram_min <= s.char_ngram_max, {
    message: 'char_ngram_min must not exceed char_ngram_max.',
    path: ['char_ngram_min'],
  });

export type FeaturizerSettings = z.infer<typeof featurizerSettingsSchema>;

export const studentHyperparametersSchema = z.object({
  learning_rate: z.number().positive().max(100).default(1),
  batch_size: z.number().int().min(1).max(4096).default(1),
  epochs: z.number().int().min(1).max(1000).default(5),
  /** Softens the teacher's distribution in the KD term (T > 1 exposes its relative preferences). */
  temperature: z.number().positive().max(100).default(2),
  /** Weight of the hard-label cross-entropy; (1 - alpha) goes to the soft KD term when there is one. */
  alpha: z.number().min(0).max(1).default(0.5),
  embedding_dim: z.number().int().min(1).max(1024).default(40),
  /** 0: no hidden layer (embedding bag straight to softmax, as fastText). */
  hidden_size: z.number().int().min(0).max(4096).default(0),
  buckets: z.number().int().min(16).max(4_000_000).default(50_000),
  word_ngrams: z.number().int().min(1).max(5).default(2),
  char_ngram_min: z.number().int().min(0).max(10).default(3),
  char_ngram_max: z.number().int().min(0).max(10).default(5),
  max_tokens: z.number().int().min(1).max(10_000).default(256),
  /** Epochs without a validation improvement before training stops; 0 turns early stopping off. */
  early_stopping_patience: z.number().int().min(0).max(1000).default(3),
  /** Share of the examples held out for validation when no validation set is given. */
  validation_fraction: z.number().min(0).max(0.5).default(0.1),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  /**
   * Two-input tasks (NLI premise/hypothesis, QA question/context): the separator between the
   * inputs in the user message (e.g. "\n"). The trainer then trains a pair-aware candidate beside
   * the n-gram one and keeps the better on the validation split.
   */
  pair_separator: z.string().min(1).max(64).optional(),
  /**
   * Which student kind: the n-gram embedding bag, the pair-aware bag, or the convolutional sequence
   * student (hashed word embeddings → 1-D convolutions → max-pool → linear); the candidate search sets it.
   */
  featurizer: z.enum(['ngrams', 'pair', 'conv']).default('ngrams'),
  /** Convolutional candidate: filters per window size; 0 leaves it out of the candidate search. */
  conv_filters: z.number().int().min(0).max(512).default(32),
  /** Convolutional candidate: window sizes in words (one filter bank each). */
  conv_windows: z.array(z.number().int().min(1).max(5)).min(1).max(4).default([2, 3]),
  conv_embedding_dim: z.number().int().min(1).max(512).default(32),
  conv_learning_rate: z.number().positive().max(10).default(0.05),
  /** Wall-clock budget for training all candidates; a candidate is not started once it is spent. */
  candidate_budget_in_ms: z.number().int().positive().default(60_000),
  /** The encoder candidate: a user-supplied ONNX sentence encoder with a trained linear head (encoder-settings.ts); unset, the kind is skipped. */
  encoder: encoderStudentSettingsSchema
    .optional()
    .describe('The encoder candidate: a user-supplied ONNX sentence encoder with a linear head trained on its pooled embeddings (docs/students.md). Unset: the kind is skipped and the lineage says so.'),
}).refine((h) => h.featurizer !== 'pair' || h.pair_separator !== undefined, {
  message: "featurizer 'pair' needs pair_separator.",
  path: ['featurizer'],
}).refine((h) => h.char_ngram_min <= h.char_ngram_max, {
  message: 'char_ngram_min must not exceed char_ngram_max.',
  path: ['char_ngram_min'],
});

export type StudentHyperparameters = z.infer<typeof studentHyperparametersSchema>;

export const classificationTaskSchema = z
  .object({
    labels: z
      .array(z.string().min(1).max(200))
      .min(2)
      .max(10_000)
      .refine((ls) => new Set(ls).size === ls.length, { message: 'labels must be unique.' }),
    labelFormat: labelFormatSchema.default({ type: 'label' }),
    student: studentHyperparametersSchema.default(studentHyperparametersSchema.parse({})),
  })
  .refine((t) => new Set(t.labels.map(normalizeLabelText)).size === t.labels.length, {
    message: 'labels must stay distinct after case, space and punctuation normalization.',
    path: ['labels'],
  });

export type ClassificationTask = z.infer<typeof classificationTaskSchema>;
export type LabelFormat = z.infer<typeof labelFormatSchema>;

export function featurizerSettingsOf(hp: StudentHyperparameters): FeaturizerSettings {
  return {
    buckets: hp.buckets,
    word_ngrams: hp.word_ngrams,
    char_ngram_min: hp.char_ngram_min,
    char_ngram_max: hp.char_ngram_max,
    max_tokens: hp.max_tokens,
    ...(hp.featurizer === 'conv' ? { word_ngrams: 1, char_ngram_min: 0, char_ngram_max: 0, sequence_pad_to: Math.max(...hp.conv_windows) } : {}),
    ...(hp.featurizer === 'pair' && hp.pair_separator !== undefined ? { pair_separator: hp.pair_separator } : {}),
  };
}

/** Parses task JSON into a ClassificationTask; bad input is a 400 DistilleryError. */
export function parseClassificationTask(input: unknown): ClassificationTask {
  const parsed = classificationTaskSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidRequest(`Invalid classification task: ${issue?.message ?? 'invalid'}`, issue?.path.join('.') ?? null);
  }
  return parsed.data;
}

/** Writes a label the way the task's answers carry it. */
export function formatLabel(label: string, format: LabelFormat): string {
  return format.type === 'label' ? label : JSON.stringify({ [format.key]: label });
}

// Case, surrounding quotes/backticks, trailing punctuation and space-vs-underscore differences are
// noise in how teachers write labels, not a different answer.
export function normalizeLabelText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .trim()
    .replace(/^[\s"'`“”‘’*]+|[\s"'`“”‘’*.!?,;:]+$/gu, '')
    .replace(/[\s\-_/]+/gu, '_');
}

export type LabelParser = (text: string) => string | null;

/**
 * Builds the parser of teacher (or student) answers for a task: the label, or null when the
 * answer names none. A null label keeps the pair but marks it unusable for training.
 */
export function createLabelParser(task: Pick<ClassificationTask, 'labels' | 'labelFormat'>): LabelParser {
  const byNormal = new Map<string, string>();
  for (const label of task.labels) byNormal.set(normalizeLabelText(label), label);
  const key = task.labelFormat.type === 'json' ? task.labelFormat.key : undefined;
  const lookup = (raw: string): string | null => byNormal.get(normalizeLabelText(raw)) ?? null;

  return (text: string): string | null => {
    if (typeof text !== 'string') return null;
    let body = text.trim();
    // Teachers often wrap JSON in a code fence.
    const fence = /^```(?:json)?\s*([\s\S]*?)\s*```$/iu.exec(body);
    if (fence?.[1] !== undefined) body = fence[1].trim();
    if (body.startsWith('{')) {
      try {
        const obj = JSON.parse(body) as unknown;
        if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
          const record = obj as Record<string, unknown>;
          const keys = key !== undefined ? [key, 'label', 'intent', 'class'] : ['label', 'intent', 'class'];
          for (const k of keys) {
            const v = record[k];
            if (typeof v === 'string') return lookup(v);
          }
        }
        return null;
      } catch {
        // Not JSON after all: fall through to plain text.
      }
    }
    const direct = lookup(body);
    if (direct !== null) return direct;
    // "Label: transfer" / "intent = transfer" on a single line.
    const prefixed = /^(?:label|intent|class|answer)\s*[:=]\s*(.+)$/iu.exec(body);
    if (prefixed?.[1] !== undefined) return lookup(prefixed[1]);
    return null;
  };
}

/**
 * The teacher's distribution over labels read from the `logprobs` of its first answer token
 * (top_logprobs): each candidate token's probability goes to the labels it begins, split evenly
 * when it begins several. Undefined when no candidate token begins any label.
 */
export function labelDistributionFromLogprobs(
  logprobs: readonly TokenLogprob[] | null | undefined,
  task: Pick<ClassificationTask, 'labels' | 'labelFormat'>,
): Record<string, number> | undefined {
  if (!logprobs || logprobs.length === 0) return undefined;
  // For JSON answers the label starts after `{"key": "`; find the first token that is not syntax.
  const position =
    task.labelFormat.type === 'json'
      ? logprobs.findIndex((t) => /[\p{L}\p{N}]/u.test(t.token) && !t.token.includes((task.labelFormat as { key: string }).key))
      : 0;
  const first = logprobs[position < 0 ? 0 : position];
  if (first === undefined) return undefined;
  const candidates = first.topLogprobs && first.topLogprobs.length > 0 ? first.topLogprobs : [first];
  const normalLabels = task.labels.map((l) => ({ label: l, normal: normalizeLabelText(l) }));
  const mass = new Map<string, number>();
  let total = 0;
  for (const c of candidates) {
    const prefix = normalizeLabelText(c.token.replace(/^[\s"'`{:]+/u, ''));
    if (prefix.length === 0 || !Number.isFinite(c.logprob)) continue;
    const matches = normalLabels.filter((l) => l.normal.startsWith(prefix));
    if (matches.length === 0) continue;
    const p = Math.exp(c.logprob);
    for (const m of matches) mass.set(m.label, (mass.get(m.label) ?? 0) + p / matches.length);
    total += p;
  }
  if (total <= 0) return undefined;
  const out: Record<string, number> = {};
  for (const [label, p] of mass) out[label] = p / total;
  return out;
}
