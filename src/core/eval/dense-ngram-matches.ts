import { PY_SPACE } from './python-whitespace.js';

// N-gram match statistics without building n-gram strings or hashing, for chrF's character
// n-grams and BLEU's word n-grams (single reference) alike: the input is a sequence of symbol ids.
//
// Every n-gram gets a dense id, order by order: an n-gram is its (n−1)-gram prefix extended by one
// character, so its id is looked up at (prefix id · alphabet size + character) in a plain array.
// With dense ids, Σ min(count_hyp, count_ref) is "add the hypothesis ids, take the reference ids"
// on another plain array. Both arrays are reused and only their touched cells reset, so a segment
// costs a few array reads per character and order. When the lookup table would be too large
// (huge alphabets times many distinct prefixes) a Map takes its place, with the same ids.

const DIRECT_LIMIT = 1 << 20; // 4 MB of Int32; typical segments need ~100k cells

let extendTable = new Int32Array(1 << 16).fill(-1);
let touched = new Int32Array(1 << 12);
let counts = new Int32Array(1 << 12);

// Alphabet ids of UTF-16 units, reused across calls (JavaScript runs one call at a time).
const unitIds = new Int32Array(65536).fill(-1);
const SURROGATE = /[\uD800-\uDFFF]/;


/**
 * Code point ids for each line (Python indexes code points) and the alphabet size; without
 * `keepWhitespace`, Python whitespace is left out (sacreBLEU's `''.join(line.split())`).
 */
export function alphabetIds(lines: readonly string[], keepWhitespace = true): { ids: Int32Array[]; size: number } {
  if (!lines.some((l) => SURROGATE.test(l))) {
    const used: number[] = [];
    const ids = lines.map((line) => {
      const out = new Int32Array(line.length);
      let len = 0;
      for (let i = 0; i < line.length; i++) {
        const u = line.charCodeAt(i);
        if (!keepWhitespace && PY_SPACE[u] === 1) continue;
        let id = unitIds[u]!;
        if (id === -1) {
          id = unitIds[u] = used.length;
          used.push(u);
        }
        out[len++] = id;
      }
      return len === out.length ? out : out.subarray(0, len);
    });
    for (const u of used) unitIds[u] = -1;
    return { ids, size: used.length };
  }
  const map = new Map<string, number>();
  const ids = lines.map((line) => {
    const chars = Array.from(line).filter((c) => keepWhitespace || c.length > 1 || PY_SPACE[c.charCodeAt(0)] !== 1);
    return Int32Array.from(chars, (c) => {
      let id = map.get(c);
      if (id === undefined) map.set(c, (id = map.size));
      return id;
    });
  });
  return { ids, size: map.size };
}

/** Ids of the n-grams of every line, given the (n−1)-gram ids; returns them and how many exist. */
function extend(prev: readonly Int32Array[], chars: readonly Int32Array[], n: number, base: number, distinct: number): { grams: Int32Array[]; distinct: number } {
  let next = 0;
  const size = distinct * base;
  if (size > DIRECT_LIMIT) {
    const map = new Map<number, number>();
    const grams = chars.map((c, s) => {
      const out = new Int32Array(Math.max(0, c.length - n + 1));
      for (let i = 0; i < out.length; i++) {
        const key = prev[s]![i]! * base + c[i + n - 1]!;
        let id = map.get(key);
        if (id === undefined) map.set(key, (id = next++));
        out[i] = id;
      }
      return out;
    });
    return { grams, distinct: next };
  }
  if (extendTable.length < size) extendTable = new Int32Array(Math.max(size, extendTable.length * 2)).fill(-1);
  const total = chars.reduce((sum, c) => sum + c.length, 0);
  if (touched.length < total) touched = new Int32Array(Math.max(total, touched.length * 2));
  const table = extendTable;
  const grams = chars.map((c, s) => {
    const p = prev[s]!;
    const out = new Int32Array(Math.max(0, c.length - n + 1));
    for (let i = 0; i < out.length; i++) {
      const key = p[i]! * base + c[i + n - 1]!;
      let id = table[key]!;
      if (id === -1) {
        id = table[key] = next;
        touched[next++] = key;
      }
      out[i] = id;
    }
    return out;
  });
  for (let k = 0; k < next; k++) table[touched[k]!] = -1;
  return { grams, distinct: next };
}

/** Σ over n-grams of min(count in h, count in r), ids below `distinct`. */
function clippedMatches(h: Int32Array, r: Int32Array, distinct: number): number {
  if (counts.length < distinct) counts = new Int32Array(Math.max(distinct, counts.length * 2));
  const c = counts;
  for (let i = 0; i < h.length; i++) c[h[i]!]!++;
  let m = 0;
  for (let i = 0; i < r.length; i++) {
    const k = r[i]!;
    if (c[k]! > 0) {
      c[k]!--;
      m++;
    }
  }
  for (let i = 0; i < h.length; i++) c[h[i]!] = 0;
  return m;
}

/**
 * What an order the reference has no n-gram of counts: chrF ('skip-order') counts no hypothesis
 * n-grams there, BLEU ('count-hypothesis') still counts them in the totals.
 */
export type EmptyOrderRule = 'skip-order' | 'count-hypothesis';

// Ping-pong buffers of the single-reference path: n-gram ids of the previous and current order.
let bufs = [new Int32Array(4096), new Int32Array(4096), new Int32Array(4096), new Int32Array(4096)];

/**
 * One reference (the usual case): ids are assigned and matches counted in the same pass — the
 * hypothesis adds to `counts`, the reference takes from it — with no per-order allocation.
 */
export function singleReferenceStatistics(hyp: Int32Array, ref: Int32Array, base: number, maxOrder: number, rule: EmptyOrderRule): number[] {
  const longest = Math.max(hyp.length, ref.length);
  if (bufs[0]!.length < longest) bufs = bufs.map(() => new Int32Array(longest * 2));
  if (counts.length < hyp.length + ref.length + base) counts = new Int32Array((hyp.length + ref.length + base) * 2);
  if (touched.length < hyp.length + ref.length) touched = new Int32Array((hyp.length + ref.length) * 2);
  let [hPrev, hCur, rPrev, rCur] = bufs as [Int32Array, Int32Array, Int32Array, Int32Array];
  const stats: number[] = [];
  const c = counts;
  let distinct = base;
  for (let n = 1; n <= maxOrder; n++) {
    const hLen = Math.max(0, hyp.length - n + 1);
    const rLen = Math.max(0, ref.length - n + 1);
    if (rLen === 0) {
      stats.push(rule === 'skip-order' ? 0 : hLen, 0, 0);
      continue;
    }
    let m = 0;
    if (n === 1) {
      for (let i = 0; i < hLen; i++) c[(hCur[i] = hyp[i]!)]!++;
      for (let i = 0; i < rLen; i++) {
        const id = (rCur[i] = ref[i]!);
        if (c[id]! > 0) {
          c[id]!--;
          m++;
        }
      }
      c.fill(0, 0, base);
    } else {
      const size = distinct * base;
      if (size > DIRECT_LIMIT) return multipleReferences([hyp, ref], base, maxOrder, rule)[0]!;
      if (extendTable.length < size) extendTable = new Int32Array(Math.max(size, extendTable.length * 2)).fill(-1);
      const table = extendTable;
      let next = 0;
      for (let i = 0; i < hLen; i++) {
        const key = hPrev[i]! * base + hyp[i + n - 1]!;
        let id = table[key]!;
        if (id === -1) {
          id = table[key] = next;
          touched[next++] = key;
        }
        hCur[i] = id;
        c[id]!++;
      }
      for (let i = 0; i < rLen; i++) {
        const key = rPrev[i]! * base + ref[i + n - 1]!;
        let id = table[key]!;
        if (id === -1) {
          id = table[key] = next;
          touched[next++] = key;
        }
        rCur[i] = id;
        if (c[id]! > 0) {
          c[id]!--;
          m++;
        }
      }
      for (let k = 0; k < next; k++) table[touched[k]!] = -1;
      c.fill(0, 0, next);
      distinct = next;
    }
    stats.push(hLen, rLen, m);
    [hPrev, hCur] = [hCur, hPrev];
    [rPrev, rCur] = [rCur, rPrev];
  }
  return stats;
}

/**
 * Per reference, [hypCount, refCount, matches] for orders 1..maxOrder of the hypothesis against
 * it, where (as in sacreBLEU) the hypothesis count is 0 for an order the reference has no n-gram
 * of. Without `keepWhitespace`, whitespace is removed first.
 */
export function charNgramStatistics(hyp: string, refs: readonly string[], maxOrder: number, keepWhitespace = false): number[][] {
  const { ids, size } = alphabetIds([hyp, ...refs], keepWhitespace);
  if (ids.length === 2) return [singleReferenceStatistics(ids[0]!, ids[1]!, size, maxOrder, 'skip-order')];
  return multipleReferences(ids, size, maxOrder, 'skip-order');
}

/** Per reference (each against the hypothesis `ids[0]`), computing all ids first. */
function multipleReferences(ids: Int32Array[], size: number, maxOrder: number, rule: EmptyOrderRule): number[][] {
  const perRef = ids.slice(1).map(() => [] as number[]);
  let grams = ids;
  let distinct = size;
  for (let n = 1; n <= maxOrder; n++) {
    if (n > 1) ({ grams, distinct } = extend(grams, ids, n, size, distinct));
    const h = grams[0]!;
    for (let k = 0; k < perRef.length; k++) {
      const r = grams[k + 1]!;
      if (r.length === 0) perRef[k]!.push(rule === 'skip-order' ? 0 : h.length, 0, 0);
      else perRef[k]!.push(h.length, r.length, clippedMatches(h, r, distinct));
    }
  }
  return perRef;
}
