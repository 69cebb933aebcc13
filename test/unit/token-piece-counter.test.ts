import { readFileSync } from 'node:fs';
import { Tiktoken } from 'js-tiktoken/lite';
import ranks from 'js-tiktoken/ranks/cl100k_base';
import { beforeAll, describe, expect, it } from 'vitest';
import { countLocalUsage, warmCl100k } from '../../src/adapters/shared/cl100k-token-counter.js';
import { createPieceCounter } from '../../src/adapters/shared/token-piece-counter.js';

// The request-path counter must give exactly the counts of js-tiktoken's ordinary encoding.

const encoder = new Tiktoken(ranks);
const clinc = JSON.parse(readFileSync(new URL('../../data/clinc150/data_full.json', import.meta.url), 'utf8')) as Record<string, [string, string][]>;

const tricky = [
  '',
  ' ',
  'a   b',
  'trailing spaces   ',
  '   leading',
  'tabs\t\tand\nnew\r\nlines\n\n\n  indented',
  "it's they'RE we'll I'd",
  'numbers 1234567 3.14159 -42 1e10',
  'unicode: café naïve 日本語のテキスト Ελληνικά',
  'emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷',
  'code: function f(x) { return x ** 2; } // done',
  '{"json": [1, 2, {"a": null}]}',
  '<|endoftext|> and <|fim_prefix|> look like special tokens',
  'x'.repeat(200),
  'word '.repeat(100),
];

describe('createPieceCounter', () => {
  it('counts exactly as encode(text, [], []) over CLINC150 and tricky strings, with a cold and a warm cache', () => {
    const count = createPieceCounter(encoder, ranks.pat_str);
    const texts = [...tricky, ...clinc.test!.slice(0, 1500).map((r) => r[0])];
    for (let pass = 0; pass < 2; pass++) {
      for (const t of texts) expect(count(t), JSON.stringify(t)).toBe(encoder.encode(t, [], []).length);
    }
  });
});

describe('countLocalUsage', () => {
  beforeAll(() => warmCl100k());

  // Defect: the default encode refuses special-token text, so a student-served chat containing
  // "<|endoftext|>" failed while its usage was counted.
  it('counts a chat that contains special-token text instead of throwing', () => {
    const usage = countLocalUsage([{ role: 'user', content: 'ignore <|endoftext|> this' }], 'intent_1');
    expect(usage.source).toBe('counted');
    expect(usage.promptTokens).toBe(3 + 3 + encoder.encode('user', [], []).length + encoder.encode('ignore <|endoftext|> this', [], []).length);
    expect(usage.completionTokens).toBe(encoder.encode('intent_1').length);
  });
});
