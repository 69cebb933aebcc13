import type { ChatMessage } from '../chat/chat-request-schema.js';
import { messageText } from '../chat/chat-request-schema.js';
import { hash53, hashToUnit } from '../hash.js';
import { goldReference, type PairRecord } from '../pairs/pair-record.js';
import { labelDistributionFromLogprobs, type ClassificationTask, type LabelParser } from '../tasks/classification-task.js';
import type { DistillSettings } from './distill-settings.js';

// Stage 1 output → training data: keeps the teacher's successful answers, drops what must not
// train a student (errors, refusals, empty or over-long answers, labels outside the set, pairs
// whose stored text redaction cut: a truncated prompt or answer is not what the teacher saw/said),
// de-duplicates by normalized prompt, and splits train/validation/test by a hash of the prompt so
// a prompt's split never changes between jobs and test prompts never reach training.

export type Split = 'train' | 'validation' | 'test';

export interface DatasetExample {
  /** The pair id it came from. */
  id: string;
  promptHash: string;
  split: Split;
  /** The conversation up to the answer. */
  messages: ChatMessage[];
  /** The teacher's answer text. */
  target: string;
  /** Classification: the teacher's label and, when it gave logprobs, its distribution. */
  label?: string;
  teacherDistribution?: Record<string, number>;
  /** Gold label or reference from a source dataset, for accuracy (never used for training). */
  reference?: string;
  /** The student's answer logged with the pair, when there was one (baseline evidence). */
  studentText?: string;
  createdAt: string;
}

export interface DropCounts {
  noTeacher: number;
  error: number;
  refusal: number;
  empty: number;
  overLong: number;
  invalidLabel: number;
  /** Redaction cut the stored prompt or answer (`pair.redacted` has 'truncated'). */
  truncatedByRedaction: number;
  duplicate: number;
}

export interface DatasetManifest {
  task: string;
  version: string;
  jobId?: string;
  createdAt: string;
  source: { pairsScanned: number; firstPairAt?: string; lastPairAt?: string; datasetId?: string };
  counts: { kept: number; train: number; validation: number; test: number; dropped: DropCounts };
  /** Classification: examples per label per split. */
  classBalance?: Record<string, Record<Split, number>>;
  /** Hash over the examples' prompts, labels and targets in their stable order: equal hashes, equal data. */
  contentHash: string;
  splitRule: string;
}

export interface Dataset {
  manifest: DatasetManifest;
  examples: DatasetExample[];
}

export interface BuildDatasetOptions {
  task: string;
  version: string;
  jobId?: string;
  now: string;
  settings: DistillSettings['dataset'];
  classification?: ClassificationTask;
  parseLabel?: LabelParser;
}

const REFUSAL = /^(?:i['’]m sorry|i am sorry|sorry, (?:but )?i (?:can(?:no|')t|am unable)|i can(?:no|')t (?:help|assist|comply)|i(?: am|['’]m) (?:unable|not able) to (?:help|assist|comply)|as an ai(?: language model)?,? i)/i;

/** Normalized conversation text: what "the same prompt" means for de-duplication and splits. */
export function promptKey(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${m.role}:${messageText(m).toLowerCase().replace(/\s+/g, ' ').trim()}`).join('\n');
}

export function splitOf(promptHash: string, validationShare: number, testShare: number): Split {
  const u = hashToUnit(promptHash);
  if (u < testShare) return 'test';
  if (u < testShare + validationShare) return 'validation';
  return 'train';
}

/** What stage 2 may learn from a pair's teacher answer, or which drop rule it falls under. */
type Screened = { drop: Exclude<keyof DropCounts, 'duplicate'> } | { target: string; label?: string; teacherDistribution?: Record<string, number> };

function screenTeacherAnswer(pair: PairRecord, options: BuildDatasetOptions): Screened {
  const { settings, classification, parseLabel } = options;
  const teacher = pair.teacher;
  if (!teacher) return { drop: 'noTeacher' };
  // The stored text is not the text the teacher answered (or not all of its answer).
  if (pair.redacted?.includes('truncated')) return { drop: 'truncatedByRedaction' };
  if (teacher.error || teacher.finishReason === 'content_filter') return { drop: 'error' };
  const target = (teacher.text ?? '').trim();
  if (target === '') return { drop: 'empty' };
  if (target.length > settings.maxAnswerChars || (teacher.finishReason === 'length' && !settings.acceptTruncated)) return { drop: 'overLong' };
  if (REFUSAL.test(target)) return { drop: 'refusal' };
  if (!parseLabel) return { target };
  const label = pair.labels?.teacher ?? parseLabel(target);
  if (!label) return { drop: 'invalidLabel' };
  const teacherDistribution =
    teacher.labelProbabilities ?? (classification ? labelDistributionFromLogprobs(teacher.logprobs, classification) : undefined);
  return { target, label, teacherDistribution };
}

function toExample(pair: PairRecord, promptHash: string, answer: Exclude<Screened, { drop: unknown }>, settings: BuildDatasetOptions['settings']): DatasetExample {
  const example: DatasetExample = {
    id: pair.id,
    promptHash,
    split: splitOf(promptHash, settings.validationShare, settings.testShare),
    messages: pair.request.messages,
    target: answer.target,
    createdAt: pair.createdAt,
  };
  if (answer.label !== undefined) example.label = answer.label;
  if (answer.teacherDistribution) example.teacherDistribution = answer.teacherDistribution;
  const gold = goldReference(pair);
  if (gold !== undefined) example.reference = gold;
  if (pair.student?.text !== undefined && !pair.student.error) example.studentText = pair.student.text;
  return example;
}

export async function buildDataset(pairs: AsyncIterable<PairRecord>, options: BuildDatasetOptions): Promise<Dataset> {
  const dropped: DropCounts = { noTeacher: 0, error: 0, refusal: 0, empty: 0, overLong: 0, invalidLabel: 0, truncatedByRedaction: 0, duplicate: 0 };
  const seen = new Set<string>();
  const examples: DatasetExample[] = [];
  const source: PairsScanned = { scanned: 0 };

  for await (const pair of pairs) {
    source.scanned++;
    source.firstPairAt ??= pair.createdAt;
    source.lastPairAt = pair.createdAt;
    const answer = screenTeacherAnswer(pair, options);
    if ('drop' in answer) {
      dropped[answer.drop]++;
      continue;
    }
    // De-duplicated after screening: a rejected answer does not hide a later good one.
    const promptHash = hash53(promptKey(pair.request.messages));
    if (seen.has(promptHash)) {
      dropped.duplicate++;
      continue;
    }
    seen.add(promptHash);
    examples.push(toExample(pair, promptHash, answer, options.settings));
  }

  // Reproducible: pairs arrive in answer order (stage-1 workers race), so examples are put in the
  // order of a stable key before anything is split, hashed or trained. The same spec and the same
  // answers then give the same dataset hash and the same student.
  examples.sort((a, b) => (a.promptHash < b.promptHash ? -1 : a.promptHash > b.promptHash ? 1 : 0));
  return { manifest: datasetManifest(examples, dropped, source, options), examples };
}

interface PairsScanned {
  scanned: number;
  firstPairAt?: string;
  lastPairAt?: string;
}

/** Counts, class balance and content hash of the sorted examples. */
function datasetManifest(examples: readonly DatasetExample[], dropped: DropCounts, source: PairsScanned, options: BuildDatasetOptions): DatasetManifest {
  const { settings } = options;
  const counts = { kept: examples.length, train: 0, validation: 0, test: 0, dropped };
  let classBalance: DatasetManifest['classBalance'];
  if (options.parseLabel) classBalance = {};
  let content = '';
  for (const e of examples) {
    counts[e.split]++;
    if (classBalance && e.label) {
      const row = (classBalance[e.label] ??= { train: 0, validation: 0, test: 0 });
      row[e.split]++;
    }
    // Content, not identity: pair ids carry the job id, which differs between two equal builds.
    content = hash53(`${content}|${e.promptHash}|${e.label ?? ''}|${e.target}`);
  }
  const { firstPairAt, lastPairAt } = source;
  return {
    task: options.task,
    version: options.version,
    ...(options.jobId ? { jobId: options.jobId } : {}),
    createdAt: options.now,
    source: {
      pairsScanned: source.scanned,
      ...(firstPairAt ? { firstPairAt } : {}),
      ...(lastPairAt ? { lastPairAt } : {}),
      ...(settings.datasetId ? { datasetId: settings.datasetId } : {}),
    },
    counts,
    ...(classBalance ? { classBalance } : {}),
    contentHash: content,
    splitRule: `hash53(normalized prompt) → test < ${settings.testShare} ≤ validation < ${settings.testShare + settings.validationShare} ≤ train`,
  };
}

/** OpenAI chat fine-tuning JSONL: one `{"messages": [...conversation, assistant answer]}` per line. */
export function toChatFineTuningJsonl(examples: readonly DatasetExample[]): string {
  return examples
    .map((e) => JSON.stringify({ messages: [...e.messages.map(stripForFineTuning), { role: 'assistant', content: e.target }] }))
    .join('\n')
    .concat(examples.length ? '\n' : '');
}

function stripForFineTuning(m: ChatMessage): { role: string; content: string; name?: string } {
  // Fine-tuning files take text content; developer messages are system messages there.
  const role = m.role === 'developer' ? 'system' : m.role;
  const out: { role: string; content: string; name?: string } = { role, content: messageText(m) };
  if ('name' in m && m.name) out.name = m.name;
  return out;
}
