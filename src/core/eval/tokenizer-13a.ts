import { pySplit } from './python-whitespace.js';

// sacreBLEU's default "13a" tokenizer (mteval-v13a.pl): the tokenization BLEU scores are quoted
// with. Reproduced rule for rule so that scores compare with published sacreBLEU figures.

// 13a's class is [{-~[-` -&(-+:-@/]; the space it includes is left out here because padding a
// space with spaces changes nothing once whitespace is collapsed (and no later rule looks at more
// than the one character next to it), while matching every space doubles the tokenizer's cost.
const PUNCTUATION = /([{-~[-`!-&(-+:-@/])/g;
const PERIOD_COMMA_AFTER_NON_DIGIT = /([^0-9])([.,])/g;
const PERIOD_COMMA_BEFORE_NON_DIGIT = /([.,])([^0-9])/g;
const DASH_AFTER_DIGIT = /([0-9])(-)/g;

export function tokenize13a(line: string): string {
  return tokens13a(line).join(' ');
}

/** The 13a tokens of a line (what `tokenize13a(line).split()` gives, without the join and split). */
export function tokens13a(line: string): string[] {
  let s = line;
  if (s.includes('<skipped>')) s = s.replaceAll('<skipped>', '');
  if (s.includes('\n')) s = s.replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) {
    s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  s = ` ${s} `;
  s = s.replace(PUNCTUATION, ' $1 ');
  s = s.replace(PERIOD_COMMA_AFTER_NON_DIGIT, '$1 $2 ');
  s = s.replace(PERIOD_COMMA_BEFORE_NON_DIGIT, ' $1 $2');
  if (s.includes('-')) s = s.replace(DASH_AFTER_DIGIT, '$1 $2 ');
  return pySplit(s);
}

/** Python's `str.split()` with no argument (Python's whitespace set, not JavaScript's). */
export const splitWhitespace = pySplit;
