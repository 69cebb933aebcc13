import { invalidRequest } from '../errors.js';
import { pySplit } from './python-whitespace.js';
import { tokenizeChar, tokensChar } from './tokenizer-char.js';
import { tokenize13a, tokens13a } from './tokenizer-13a.js';
import { tokenizeIntl, tokensIntl } from './tokenizer-intl.js';

// The BLEU tokenizers of sacreBLEU 2.x that need no external model ("zh", "ja-mecab", "ko-mecab"
// and "spm" need dictionaries or SentencePiece models and are not offered).

export const BLEU_TOKENIZERS = ['13a', 'intl', 'char', 'none'] as const;
export type BleuTokenizerName = (typeof BLEU_TOKENIZERS)[number];

const identity = (line: string) => line;

export function bleuTokenizer(name: BleuTokenizerName): (line: string) => string {
  switch (name) {
    case '13a':
      return tokenize13a;
    case 'intl':
      return tokenizeIntl;
    case 'char':
      return tokenizeChar;
    case 'none':
      return identity;
    default:
      throw invalidRequest(`Unknown BLEU tokenizer '${String(name)}'; expected one of ${BLEU_TOKENIZERS.join(', ')}.`, 'tokenize', 'invalid_metric_input');
  }
}

/** The tokens BLEU counts: `bleuTokenizer(name)(line).split()`, without building the joined string. */
export function bleuTokens(name: BleuTokenizerName): (line: string) => string[] {
  switch (name) {
    case '13a':
      return tokens13a;
    case 'intl':
      return tokensIntl;
    case 'char':
      return tokensChar;
    case 'none':
      return pySplit;
    default: {
      // Unknown names: bleuTokenizer throws the typed error.
      const tokenize = bleuTokenizer(name);
      return (line) => pySplit(tokenize(line));
    }
  }
}
