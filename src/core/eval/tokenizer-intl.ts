import { pySplit } from './python-whitespace.js';

// sacreBLEU's "intl" tokenizer (mteval-v14.pl --international-tokenization): split punctuation
// off unless it sits between digits, and split off every symbol. Unicode property classes need
// the `u` flag (and then match whole code points, as Python's `regex` module does).
const PUNCT_AFTER_NON_DIGIT = /(\P{N})(\p{P})/gu;
const PUNCT_BEFORE_NON_DIGIT = /(\p{P})(\P{N})/gu;
const SYMBOL = /(\p{S})/gu;

export function tokenizeIntl(line: string): string {
  return tokensIntl(line).join(' ');
}

/** The intl tokens of a line (`tokenizeIntl(line).split()`). */
export function tokensIntl(line: string): string[] {
  const s = line
    .replace(PUNCT_AFTER_NON_DIGIT, '$1 $2 ')
    .replace(PUNCT_BEFORE_NON_DIGIT, ' $1 $2')
    .replace(SYMBOL, ' $1 ');
  return pySplit(s);
}
