import { DistilleryError } from '../../core/errors.js';
import { quantileSorted } from '../../core/eval/statistics.js';
import type { StudentHyperparameters } from '../../core/tasks/classification-task.js';
import { ENCODER_HEAD_INPUT, forwardEncoderHead, type EncoderEmbeddings } from './encoder-head.js';
import { SentenceEncoder } from './sentence-encoder.js';
import type { StudentWeights } from './student-weights.js';
import { checkLabels, parseHyperparameters, toTarget, type TrainingData, type TrainingExample } from './train-student.js';

// The asynchronous half of the encoder candidate, run in the training worker before the
// (synchronous) candidate search: open the configured encoder, embed the usable training and
// validation texts once in length-sorted batches, and time single-text embedding the way serving
// runs it. When no encoder is configured, or it cannot be opened, or embedding outruns the
// candidate budget, the kind is skipped and the reason goes into the job's lineage — unless the
// task pinned it, which makes those failures the job's.

export type EncoderSkip = { skipped: 'not_configured' | 'unavailable' | 'budget'; reason: string };
export type EncoderCandidateInput = { embeddings: EncoderEmbeddings } | EncoderSkip;

const usable = (ex: TrainingExample, index: Map<string, number>) => {
  try {
    return toTarget(ex, index) !== undefined;
  } catch {
    return false; // malformed examples are reported by the other kinds' preparation
  }
};

async function embedSplit(encoder: SentenceEncoder, examples: readonly TrainingExample[], index: Map<string, number>, batchSize: number, stop: () => boolean) {
  const keep = examples.map((ex) => usable(ex, index));
  const texts = examples.filter((_, i) => keep[i]).map((ex) => ex.text);
  const vectors = await encoder.embedTexts(texts, batchSize, stop);
  if (!vectors) return undefined;
  let k = 0;
  return keep.map((ok) => (ok ? vectors[k++] : undefined));
}

async function timeSingle(encoder: SentenceEncoder, texts: readonly string[]): Promise<{ p50InMs?: number; p99InMs?: number }> {
  const times: number[] = [];
  for (const text of texts) {
    const t0 = performance.now();
    await encoder.embed(text);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times.length ? { p50InMs: quantileSorted(times, 0.5), p99InMs: quantileSorted(times, 0.99) } : {};
}

/** Embeds the training data with the configured encoder, or says why the encoder kind is skipped. */
export async function prepareEncoderCandidate(data: TrainingData, hyperparameters: unknown): Promise<EncoderCandidateInput> {
  const hp: StudentHyperparameters = parseHyperparameters(hyperparameters);
  const s = hp.encoder;
  if (!s) return { skipped: 'not_configured', reason: 'no encoder configured (classification.student.encoder.path)' };
  const started = Date.now();
  let encoder: SentenceEncoder;
  try {
    encoder = await SentenceEncoder.open(
      { path: s.path, modelFile: s.model_file, tokenizerFile: s.tokenizer_file },
      { pooling: s.pooling, normalize: s.normalize, maxTokens: s.max_tokens, prefix: s.prefix, ...(s.output ? { output: s.output } : {}), ...(hp.pair_separator !== undefined ? { pairSeparator: hp.pair_separator } : {}) },
    );
  } catch (err) {
    if (s.pinned) throw err;
    return { skipped: 'unavailable', reason: (err as Error).message };
  }
  try {
    const index = checkLabels(data.labels);
    // A pinned encoder has no rival to leave time for: it embeds whatever the budget says.
    const stop = () => !s.pinned && Date.now() - started > hp.candidate_budget_in_ms;
    const train = await embedSplit(encoder, data.train, index, s.batch_size, stop);
    const validation = data.validation ? await embedSplit(encoder, data.validation, index, s.batch_size, stop) : undefined;
    if (!train || (data.validation && !validation)) {
      return { skipped: 'budget', reason: `embedding the training data took longer than candidate_budget_in_ms (${hp.candidate_budget_in_ms} ms)` };
    }
    const durationInMs = Date.now() - started;
    // The same texts the other kinds are timed on (train-candidates.ts), one at a time as served.
    const sample = (data.validation?.length ? data.validation : data.train).slice(0, 200).map((e) => e.text);
    return {
      embeddings: {
        reference: encoder.reference(ENCODER_HEAD_INPUT),
        train,
        ...(validation ? { validation } : {}),
        durationInMs,
        ...(await timeSingle(encoder, sample)),
      },
    };
  } catch (err) {
    // An encoder that opens but fails on the data (inputs longer than its positions, say) is skipped like one that does not open.
    if (s.pinned || (err instanceof DistilleryError && err.code !== 'encoder_unavailable')) throw err;
    return { skipped: 'unavailable', reason: `the encoder failed while embedding the training data: ${(err as Error).message}` };
  } finally {
    await encoder.release();
  }
}

/** Calibration of an encoder student: its logits on the i-th validation example; undefined for the other kinds. */
export function encoderValidationLogits(weights: StudentWeights, input: EncoderCandidateInput | undefined): ((ex: TrainingExample, i: number) => Float64Array) | undefined {
  if (!weights.encoder || !input || !('embeddings' in input)) return undefined;
  const validation = input.embeddings.validation ?? [];
  return (_ex, i) => {
    const x = validation[i];
    if (!x) throw new DistilleryError(`Validation example ${i} has no embedding.`, { status: 500, type: 'server_error', code: 'training_failed' });
    return forwardEncoderHead(weights, x);
  };
}
