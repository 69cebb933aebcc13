import { PY_SPACE } from './python-whitespace.js';

// sacreBLEU's "char" tokenizer: every character (Python code point, so a surrogate pair stays one
// character) becomes a token. Whitespace characters become empty tokens that the later
// `str.split()` drops.
export function tokenizeChar(line: string): string {
  return Array.from(line).join(' ');
}

/** The char tokens of a line (`tokenizeChar(line).split()`): its non-whitespace code points. */
export function tokensChar(line: string): string[] {
  return Array.from(line).filter((c) => c.length > 1 || PY_SPACE[c.charCodeAt(0)] !== 1);
}
