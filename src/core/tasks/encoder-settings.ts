import { z } from 'zod';

// The encoder student (issue 17 item 3): a user-supplied ONNX sentence encoder (an exported
// MiniLM / e5 / bge folder: model.onnx + tokenizer.json) with a linear head trained on its pooled
// embeddings. These are the task's settings for it (`classification.student.encoder`) and the
// reference to the encoder a trained version keeps in its sidecar, so serving loads exactly the
// encoder the head was trained on.

export const encoderStudentSettingsSchema = z.object({
  /**
   * Folder of the exported encoder (model.onnx + tokenizer.json, e.g. from `optimum-cli export
   * onnx`); relative paths resolve against the working directory of the process. Training and
   * serving must both find it there: the student's artifacts keep only its path and checksums.
   */
  path: z
    .string()
    .min(1)
    .max(4096)
    .describe('Folder of an ONNX sentence encoder exported from Hugging Face (model.onnx + tokenizer.json, e.g. optimum-cli export onnx); relative to the working directory; must exist where the student trains and where it is served.'),
  model_file: z.string().min(1).max(255).default('model.onnx'),
  tokenizer_file: z.string().min(1).max(255).default('tokenizer.json'),
  /** Token embeddings → sentence embedding: mean over the attention mask, or the first token ([CLS]). Ignored when the model outputs `sentence_embedding`. */
  pooling: z.enum(['mean', 'cls']).default('mean'),
  /** L2-normalize the sentence embedding (as sentence-transformers models do). */
  normalize: z.boolean().default(true),
  /** Inputs are cut to this many tokens, special tokens included. */
  max_tokens: z.number().int().min(4).max(8192).default(128),
  /** The encoder output to read; unset: `sentence_embedding` when present, else `last_hidden_state`, else the first output. */
  output: z.string().min(1).max(200).optional(),
  /** Prepended to every input before tokenizing, for models trained with one (e5: `query: `). */
  prefix: z.string().max(200).default(''),
  /** Texts per encoder run while embedding the training data. */
  batch_size: z.number().int().min(1).max(1024).default(32),
  /** Keep the encoder candidate without a validation contest: the other kinds are not trained. */
  pinned: z.boolean().default(false).describe('Train only the encoder candidate (no validation contest); the job fails when the encoder cannot be used.'),
  /** Head training (Adam on standardized embeddings, KD loss): passes over the data, step size, L2 penalty. */
  head_epochs: z.number().int().min(1).max(1000).default(20),
  head_learning_rate: z.number().positive().max(10).default(0.01),
  head_l2: z.number().min(0).max(10).default(0.0001),
});

export type EncoderStudentSettings = z.infer<typeof encoderStudentSettingsSchema>;

/** What a trained encoder student needs to find and run its encoder: stored in its sidecar. */
export const encoderReferenceSchema = z.object({
  path: z.string().min(1),
  modelFile: z.string().min(1),
  tokenizerFile: z.string().min(1),
  /** SHA-256 of model.onnx and of tokenizer.json (+ tokenizer_config.json when present): serving refuses another encoder. */
  modelSha256: z.string().regex(/^[0-9a-f]{64}$/),
  tokenizerSha256: z.string().regex(/^[0-9a-f]{64}$/),
  modelSizeInBytes: z.number().int().positive(),
  /** The encoder output read, and whether it is already a sentence embedding (no pooling). */
  output: z.string().min(1),
  pooled: z.boolean(),
  pooling: z.enum(['mean', 'cls']),
  normalize: z.boolean(),
  maxTokens: z.number().int().positive(),
  prefix: z.string().default(''),
  dimension: z.number().int().positive(),
  /** Two-input tasks: the text is split here and encoded as a pair (`[CLS] a [SEP] b [SEP]`). */
  pairSeparator: z.string().min(1).optional(),
  /** Name of the head graph's input (the sentence embedding, float [batch, dimension]). */
  headInput: z.string().min(1),
});

export type EncoderReference = z.infer<typeof encoderReferenceSchema>;
