import { Tokenizer } from '@huggingface/tokenizers';
import { DistilleryError } from '../../core/errors.js';

// The encoder student's tokenizer: the Hugging Face `tokenizer.json` of the exported encoder
// (WordPiece for BERT/MiniLM/bge, Unigram or BPE for e5 and others), read by
// @huggingface/tokenizers — Hugging Face's pure-JS port of `tokenizers`, no native code and
// nothing downloaded. The library does not truncate, so this does: the first `maxTokens − 1`
// tokens and the last one (the closing [SEP] / </s>), so the model always sees its end token.

export interface EncodedText {
  ids: number[];
  /** Segment ids: 0 for the first text, 1 for the second of a pair (all 0 when the tokenizer has none). */
  typeIds: number[];
}

const invalidTokenizer = (message: string, cause?: unknown) =>
  new DistilleryError(message, { status: 500, type: 'server_error', code: 'encoder_unavailable', ...(cause ? { cause } : {}) });

export class EncoderTokenizer {
  readonly #tokenizer: Tokenizer;
  readonly #maxTokens: number;
  readonly #pairSeparator: string | undefined;
  readonly #prefix: string;

  /** `json` is the parsed tokenizer.json, `config` the parsed tokenizer_config.json ({} without one). */
  constructor(json: unknown, config: unknown, options: { maxTokens: number; pairSeparator?: string; prefix?: string }) {
    if (json === null || typeof json !== 'object' || !('model' in json)) throw invalidTokenizer('tokenizer.json has no `model`: not a Hugging Face tokenizer file.');
    try {
      this.#tokenizer = new Tokenizer(json, (config ?? {}) as object);
    } catch (err) {
      throw invalidTokenizer(`tokenizer.json could not be loaded: ${(err as Error).message}`, err);
    }
    this.#maxTokens = options.maxTokens;
    this.#pairSeparator = options.pairSeparator;
    this.#prefix = options.prefix ?? '';
  }

  /** Tokenizes one input (split into a pair at the task's separator, when it has one), truncated to maxTokens. */
  encode(text: string): EncodedText {
    // Characters beyond ~16 per token can never be read: cut them before tokenizing (bounds work on huge inputs).
    const limit = this.#maxTokens * 16;
    const sep = this.#pairSeparator === undefined ? -1 : text.indexOf(this.#pairSeparator);
    const first = this.#prefix + (sep < 0 ? text : text.slice(0, sep)).slice(0, limit);
    const second = sep < 0 ? undefined : text.slice(sep + this.#pairSeparator!.length).slice(0, limit);
    const enc = this.#tokenizer.encode(first, { ...(second !== undefined ? { text_pair: second } : {}), return_token_type_ids: true });
    let ids = enc.ids;
    let typeIds = enc.token_type_ids ?? new Array<number>(ids.length).fill(0);
    if (ids.length > this.#maxTokens) {
      const keep = this.#maxTokens - 1;
      ids = [...ids.slice(0, keep), ids[ids.length - 1]!];
      typeIds = [...typeIds.slice(0, keep), typeIds[typeIds.length - 1]!];
    }
    return { ids, typeIds };
  }
}
