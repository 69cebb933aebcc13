// A reusable open-addressing hash table from non-negative integer keys (< 2^53, packed n-grams)
// to counts. Clipped n-gram matching — Σ min(countA, countB) — is then "add A, take B": insert one
// side, and for each n-gram of the other side take one if any is left. With typed arrays and no
// per-entry allocation this is several times faster than a Map or sorting.

export class NgramCountTable {
  private keys: Float64Array;
  private counts: Int32Array;
  private used: Int32Array;
  private usedCount = 0;
  private mask: number;

  constructor(capacity = 1024) {
    let size = 16;
    while (size < capacity * 2) size <<= 1;
    this.keys = new Float64Array(size);
    this.counts = new Int32Array(size);
    this.used = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Empties the table, growing it if it must hold `capacity` distinct keys. */
  reset(capacity: number): void {
    if (capacity * 2 > this.keys.length) {
      let size = this.keys.length;
      while (size < capacity * 2) size <<= 1;
      this.keys = new Float64Array(size);
      this.counts = new Int32Array(size);
      this.used = new Int32Array(size);
      this.mask = size - 1;
      this.usedCount = 0;
      return;
    }
    for (let i = 0; i < this.usedCount; i++) {
      const s = this.used[i]!;
      this.keys[s] = 0;
      this.counts[s] = 0;
    }
    this.usedCount = 0;
  }

  /** Slot of `key` (stored as key + 1 so that 0 marks a free slot; counts may fall to 0). */
  private slot(key: number): number {
    // Mix the low and high 32-bit halves; linear probing from there.
    const stored = key + 1;
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    let i = h & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === 0 || k === stored) return i;
      i = (i + 1) & this.mask;
    }
  }

  add(key: number, count = 1): void {
    const i = this.slot(key);
    if (this.keys[i] === 0) {
      this.keys[i] = key + 1;
      this.used[this.usedCount++] = i;
    }
    this.counts[i]! += count;
  }

  /** Raises the count of `key` to at least `count` (max over references). */
  max(key: number, count: number): void {
    const i = this.slot(key);
    if (this.keys[i] === 0) {
      this.keys[i] = key + 1;
      this.used[this.usedCount++] = i;
      this.counts[i] = count;
    } else if (this.counts[i]! < count) this.counts[i] = count;
  }

  /** Takes one occurrence of `key`; true if there was one. */
  take(key: number): boolean {
    const i = this.slot(key);
    if (this.counts[i]! > 0 && this.keys[i] === key + 1) {
      this.counts[i]!--;
      return true;
    }
    return false;
  }

  get(key: number): number {
    const i = this.slot(key);
    return this.keys[i] === key + 1 ? this.counts[i]! : 0;
  }

  /** Distinct keys with a positive count, with their counts. */
  *entries(): IterableIterator<[number, number]> {
    for (let i = 0; i < this.usedCount; i++) {
      const s = this.used[i]!;
      if (this.counts[s]! > 0) yield [this.keys[s]! - 1, this.counts[s]!];
    }
  }
}
