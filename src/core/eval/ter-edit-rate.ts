// The edit count behind TER, following sacreBLEU 2.x's lib_ter (itself modelled on Tercom):
// greedily apply the block shift that lowers the word edit distance most, until none does, then
// add the remaining edit distance. Tercom's limits apply — shifted blocks of at most 10 words,
// moved at most 50 positions, at most 1000 candidate shifts per segment — and the edit distance is
// a beam (25 cells either side of the length-scaled diagonal), so results match sacreBLEU's even
// where the beam or the limits make them differ from the exact optimum.

const MAX_SHIFT_SIZE = 10;
const MAX_SHIFT_DIST = 50;
const BEAM_WIDTH = 25;
const MAX_SHIFT_CANDIDATES = 1000;
const INF = 1 << 29;

// Edit operations, hypothesis → reference. Ties prefer match/substitution, then consuming a
// hypothesis word, then consuming a reference word (sacreBLEU's order once its trace is flipped).
const OP_MATCH = 0;
const OP_SUB = 1;
const OP_HYP = 2; // hypothesis word left out of the reference (sacreBLEU's "d" before flipping)
const OP_REF = 3; // reference word missing from the hypothesis ("i")
const OP_UNDEF = 4;

/** Beam edit distance against one reference, keeping the full matrix of the current hypothesis. */
class BeamEditDistance {
  private cost = new Int32Array(0);
  private ops = new Uint8Array(0);
  private row = new Int32Array(0);
  private prevRow = new Int32Array(0);
  private readonly width: number;

  constructor(private readonly ref: Int32Array) {
    this.width = ref.length + 1;
  }

  private beam(i: number, nHyp: number): [number, number] {
    const ratio = nHyp > 0 ? this.ref.length / nHyp : 1;
    const beamWidth = BEAM_WIDTH < ratio / 2 ? Math.ceil(ratio / 2 + BEAM_WIDTH) : BEAM_WIDTH;
    const diagonal = Math.floor(i * ratio);
    const min = Math.max(0, diagonal - beamWidth);
    const max = i === nHyp ? this.width : Math.min(this.width, diagonal + beamWidth);
    return [min, max];
  }

  /** Fills row i (cells outside the beam stay INF) from row i − 1; returns nothing, writes `cur`. */
  private fillRow(i: number, word: number, nHyp: number, prev: Int32Array, cur: Int32Array, ops?: Uint8Array, opsAt = 0): void {
    const [min, max] = this.beam(i, nHyp);
    cur.fill(INF);
    for (let j = min; j < max; j++) {
      if (j === 0) {
        cur[0] = prev[0]! + 1;
        if (ops) ops[opsAt] = OP_HYP;
        continue;
      }
      let best = INF;
      let op = OP_UNDEF;
      const diag = prev[j - 1]! + (word === this.ref[j - 1] ? 0 : 1);
      if (best > diag) {
        best = diag;
        op = word === this.ref[j - 1] ? OP_MATCH : OP_SUB;
      }
      if (best > prev[j]! + 1) {
        best = prev[j]! + 1;
        op = OP_HYP;
      }
      if (best > cur[j - 1]! + 1) {
        best = cur[j - 1]! + 1;
        op = OP_REF;
      }
      cur[j] = best;
      if (ops) ops[opsAt + j] = op;
    }
  }

  /** Full matrix for `hyp` (kept for `distanceOfVariant`); returns the distance and the trace. */
  distance(hyp: Int32Array): { distance: number; trace: number[] } {
    const w = this.width;
    const n = hyp.length;
    if (this.cost.length < (n + 1) * w) {
      this.cost = new Int32Array((n + 1) * w);
      this.ops = new Uint8Array((n + 1) * w);
    }
    for (let j = 0; j < w; j++) {
      this.cost[j] = j;
      this.ops[j] = OP_REF;
    }
    for (let i = 1; i <= n; i++) {
      const prev = this.cost.subarray((i - 1) * w, i * w);
      const cur = this.cost.subarray(i * w, (i + 1) * w);
      this.ops.fill(OP_UNDEF, i * w, (i + 1) * w);
      this.fillRow(i, hyp[i - 1]!, n, prev, cur, this.ops, i * w);
    }
    const trace: number[] = [];
    let i = n;
    let j = w - 1;
    while (i > 0 || j > 0) {
      const op = this.ops[i * w + j]!;
      trace.push(op);
      if (op === OP_MATCH || op === OP_SUB) {
        i--;
        j--;
      } else if (op === OP_REF) j--;
      else if (op === OP_HYP) i--;
      else throw new Error('TER: edit distance trace left the beam');
    }
    return { distance: this.cost[n * w + w - 1]!, trace: trace.reverse() };
  }

  /**
   * Distance of a hypothesis of the same length that agrees with the last `distance()` input on
   * its first `same` words: rows up to `same` are shared, so only the rest is computed.
   */
  distanceOfVariant(variant: Int32Array, same: number): number {
    const w = this.width;
    const n = variant.length;
    if (same >= n) return this.cost[n * w + w - 1]!;
    if (this.row.length < w) {
      this.row = new Int32Array(w);
      this.prevRow = new Int32Array(w);
    }
    this.prevRow.set(this.cost.subarray(same * w, (same + 1) * w));
    for (let i = same + 1; i <= n; i++) {
      this.fillRow(i, variant[i - 1]!, n, this.prevRow, this.row);
      const t = this.prevRow;
      this.prevRow = this.row;
      this.row = t;
    }
    return this.prevRow[w - 1]!;
  }
}

interface Alignment {
  /** Reference position → hypothesis position it aligns to (−1 before the first). */
  align: Int32Array;
  hypErr: Uint8Array;
  refErr: Uint8Array;
}

function traceToAlignment(trace: readonly number[], nHyp: number, nRef: number): Alignment {
  const align = new Int32Array(nRef);
  const hypErr = new Uint8Array(nHyp);
  const refErr = new Uint8Array(nRef);
  let h = -1;
  let r = -1;
  for (const op of trace) {
    if (op === OP_MATCH || op === OP_SUB) {
      h++;
      r++;
      align[r] = h;
      if (op === OP_SUB) hypErr[h] = refErr[r] = 1;
    } else if (op === OP_HYP) {
      h++;
      hypErr[h] = 1;
    } else {
      r++;
      align[r] = h;
      refErr[r] = 1;
    }
  }
  return { align, hypErr, refErr };
}

/** sacreBLEU's `_perform_shift`, including its reading of a target inside the moved block. */
function performShift(words: Int32Array, start: number, length: number, target: number): Int32Array {
  const out = new Int32Array(words.length);
  let at = 0;
  const put = (from: number, to = words.length) => {
    const part = words.subarray(from, Math.max(from, Math.min(to, words.length)));
    out.set(part, at);
    at += part.length;
  };
  if (target < start) {
    put(0, target);
    put(start, start + length);
    put(target, start);
    put(start + length);
  } else if (target > start + length) {
    put(0, start);
    put(start + length, target);
    put(start, start + length);
    put(target);
  } else {
    put(0, start);
    put(start + length, length + target);
    put(start, start + length);
    put(length + target);
  }
  return out;
}

interface Candidate {
  gain: number;
  length: number;
  start: number;
  target: number;
  words: Int32Array;
}

/** Tercom's ranking: larger gain, then longer block, then earlier start, then earlier target. */
function better(a: Candidate, b: Candidate): boolean {
  if (a.gain !== b.gain) return a.gain > b.gain;
  if (a.length !== b.length) return a.length > b.length;
  if (a.start !== b.start) return a.start < b.start;
  return a.target < b.target;
}

function sharedPrefix(a: Int32Array, b: Int32Array): number {
  let k = 0;
  while (k < a.length && a[k] === b[k]) k++;
  return k;
}

/** One round of sacreBLEU's `_shift`: the best shift and the running count of candidates tried. */
function bestShift(hyp: Int32Array, ref: Int32Array, ed: BeamEditDistance, checked: number): { best?: Candidate; checked: number } {
  const { distance: before, trace } = ed.distance(hyp);
  const { align, hypErr, refErr } = traceToAlignment(trace, hyp.length, ref.length);
  let best: Candidate | undefined;
  const anyError = (errs: Uint8Array, from: number, length: number) => errs.subarray(from, from + length).some((e) => e !== 0);
  for (let start = 0; start < hyp.length; start++) {
    for (let refStart = 0; refStart < ref.length; refStart++) {
      if (Math.abs(refStart - start) > MAX_SHIFT_DIST) continue;
      for (let length = 1; length <= MAX_SHIFT_SIZE && hyp[start + length - 1] === ref[refStart + length - 1]; length++) {
        const consumed = start + length === hyp.length || refStart + length === ref.length;
        const skip =
          !anyError(hypErr, start, length) || !anyError(refErr, refStart, length) || (start <= align[refStart]! && align[refStart]! < start + length);
        if (!skip) {
          let prevTarget = -1;
          for (let offset = -1; offset < length; offset++) {
            const target = refStart + offset === -1 ? 0 : align[refStart + offset]! + 1;
            if (target === prevTarget) continue;
            prevTarget = target;
            const words = performShift(hyp, start, length, target);
            const gain = before - ed.distanceOfVariant(words, sharedPrefix(hyp, words));
            checked++;
            const candidate = { gain, length, start, target, words };
            if (!best || better(candidate, best)) best = candidate;
          }
          if (checked >= MAX_SHIFT_CANDIDATES) return { best, checked };
        }
        if (consumed) break;
      }
    }
  }
  return { best, checked };
}

/** sacreBLEU's `translation_edit_rate`: [edits, reference length] for tokenized words. */
export function translationEditRate(hypWords: readonly string[], refWords: readonly string[]): [number, number] {
  if (refWords.length === 0) return [hypWords.length, 0];
  const ids = new Map<string, number>();
  const toIds = (words: readonly string[]) => Int32Array.from(words, (w) => {
    let id = ids.get(w);
    if (id === undefined) ids.set(w, (id = ids.size));
    return id;
  });
  const ref = toIds(refWords);
  let hyp: Int32Array = toIds(hypWords);
  const ed = new BeamEditDistance(ref);
  let shifts = 0;
  let checked = 0;
  for (;;) {
    const round = bestShift(hyp, ref, ed, checked);
    checked = round.checked;
    // Like sacreBLEU, a round that exhausts the candidate budget is not applied.
    if (checked >= MAX_SHIFT_CANDIDATES || !round.best || round.best.gain <= 0) break;
    shifts++;
    hyp = round.best.words;
  }
  return [shifts + ed.distance(hyp).distance, ref.length];
}
