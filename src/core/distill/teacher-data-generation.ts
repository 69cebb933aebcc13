import type { ChatModel, OperationOptions } from '../ports.js';
import { messageText } from '../chat/chat-request-schema.js';
import { hash53 } from '../hash.js';
import { normalizeLabelText } from '../tasks/classification-task.js';
import type { DatasetRow } from './distillation-spec.js';

// Teacher-generated data (Azure ML's `data_generation`): for a label task where some labels have
// few training rows, the teacher writes new user messages for each such label from a few of its
// training rows (the seeds). The new rows are deduplicated (against every row and each other) and
// decontaminated against the held-out split — a message equal to a test row, or sharing a word
// n-gram with one, is dropped — before they join the training rows. Stage 1 then labels them like
// any row: the teacher's answer, not the label it was asked to write for, is what the student learns.

export interface DataGenerationSettings {
  min_examples_per_label: number;
  count_per_label: number;
  seeds_per_label: number;
  prompt?: string | undefined;
  decontamination_ngram: number;
}

export interface DataGenerationReport {
  labels: string[];
  requested: number;
  generated: number;
  duplicates: number;
  contaminated: number;
  failedCalls: number;
}

export const DEFAULT_GENERATION_PROMPT =
  'Write {count} new, varied messages a user could send that have the label "{label}". ' +
  'Examples with this label:\n{examples}\nAnswer with one message per line, nothing else.';

const words = (text: string) => text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
const userText = (row: DatasetRow) => row.messages.filter((m) => m.role === 'user').map(messageText).join('\n');

/** Word n-grams of a normalized text; a text shorter than n is its own single "n-gram". */
function ngrams(normal: string, n: number): string[] {
  const w = normal.split(' ');
  if (w.length <= n) return [normal];
  const out: string[] = [];
  for (let i = 0; i + n <= w.length; i++) out.push(w.slice(i, i + n).join(' '));
  return out;
}

/** The teacher's lines: numbering, bullets and quotes stripped, empty lines dropped. */
export function parseGeneratedLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/^(?:\d+[.)]|[-*•])\s*/u, '').replace(/^["“'](.*)["”']$/u, '$1').trim())
    .filter((l) => l.length > 0 && l.length <= 2000);
}

export async function generateLabelRows(
  teacher: ChatModel,
  labels: readonly string[],
  rows: readonly DatasetRow[],
  settings: DataGenerationSettings,
  options: OperationOptions = {},
): Promise<{ rows: DatasetRow[]; report: DataGenerationReport }> {
  const byLabel = new Map<string, DatasetRow[]>(labels.map((l) => [normalizeLabelText(l), []]));
  for (const r of rows) if (r.split === 'train' && r.reference !== undefined) byLabel.get(normalizeLabelText(r.reference))?.push(r);
  const seen = new Set(rows.filter((r) => r.split === 'train').map((r) => words(userText(r))));
  const testGrams = new Set(rows.filter((r) => r.split === 'validation').flatMap((r) => ngrams(words(userText(r)), settings.decontamination_ngram)));
  const report: DataGenerationReport = { labels: [], requested: 0, generated: 0, duplicates: 0, contaminated: 0, failedCalls: 0 };
  const out: DatasetRow[] = [];
  for (const label of labels) {
    const have = byLabel.get(normalizeLabelText(label)) ?? [];
    if (have.length >= settings.min_examples_per_label) continue;
    report.labels.push(label);
    report.requested += settings.count_per_label;
    const prompt = (settings.prompt ?? DEFAULT_GENERATION_PROMPT)
      .replaceAll('{label}', label)
      .replaceAll('{count}', String(settings.count_per_label))
      .replaceAll('{examples}', have.slice(0, settings.seeds_per_label).map((r) => `- ${userText(r)}`).join('\n'));
    let text: string;
    try {
      const result = await teacher.generate({ messages: [{ role: 'user', content: prompt }], temperature: 1, max_tokens: Math.min(8192, 64 * settings.count_per_label) }, options);
      text = result.text;
    } catch {
      options.abortSignal?.throwIfAborted();
      report.failedCalls++; // a label without new rows still trains on its own; the report says so
      continue;
    }
    for (const line of parseGeneratedLines(text).slice(0, settings.count_per_label)) {
      const normal = words(line);
      // Test rows first: a copy of one is contamination, whatever else it duplicates.
      if (normal !== '' && ngrams(normal, settings.decontamination_ngram).some((g) => testGrams.has(g))) {
        report.contaminated++;
        continue;
      }
      if (normal === '' || seen.has(normal)) {
        report.duplicates++;
        continue;
      }
      seen.add(normal);
      out.push({ id: `g${hash53(`${label}\n${normal}`)}`, split: 'train', messages: [{ role: 'user', content: line }] });
      report.generated++;
    }
  }
  return { rows: out, report };
}
