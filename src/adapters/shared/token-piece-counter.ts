import type { Tiktoken } from 'js-tiktoken/lite';

// Token counting on the request path (issue 19). js-tiktoken's `encode` compiles its split pattern
// and the special-token patterns again on every call and joins each piece's bytes into a string key
// to look it up: ~30 µs for the five strings of a two-message chat, 6–9% of a student-served
// request. A BPE tokenizer splits the text with its pattern first and encodes every piece on its
// own, so the count of a text is the sum of its pieces' counts; natural-language pieces (words,
// punctuation, role names, a repeated system prompt) recur, so each piece's count is kept in a
// bounded map. Counts are those of `encode(text, [], [])` — tiktoken's encode_ordinary: text that
// looks like a special token (`<|endoftext|>`) is counted as the text it is, never refused (the
// default `encode` throws on it, which failed the request whose usage was being counted).

/** Pieces longer than this are counted, not remembered (one long blob must not fill the map). */
const MAX_CACHED_PIECE = 48;
/** Remembered pieces; the map starts over when full (bounded memory, no per-hit bookkeeping). */
const MAX_CACHED_PIECES = 32_768;

export type PieceCounter = (text: string) => number;

/** Counts tokens of `text` as `encoder.encode(text, [], []).length` does, remembering pieces. */
export function createPieceCounter(encoder: Tiktoken, splitPattern: string): PieceCounter {
  const split = new RegExp(splitPattern, 'gu');
  const pieces = new Map<string, number>();
  const countPiece = (piece: string): number => {
    let n = pieces.get(piece);
    if (n !== undefined) return n;
    n = encoder.encode(piece, [], []).length;
    if (piece.length <= MAX_CACHED_PIECE) {
      if (pieces.size >= MAX_CACHED_PIECES) pieces.clear();
      pieces.set(piece, n);
    }
    return n;
  };
  return (text) => {
    if (!text) return 0;
    let n = 0;
    split.lastIndex = 0;
    for (let m = split.exec(text); m !== null; m = split.exec(text)) {
      if (m[0] === '') split.lastIndex++; // the pattern never matches empty text; never loop if it did
      else n += countPiece(m[0]);
    }
    return n;
  };
}
