// A fast 53-bit string hash (cyrb53: two multiply-xorshift lanes), as 14 hex characters. Pure,
// stable across processes and releases: it decides dataset splits and de-duplication, so it must
// never change. Collisions are ~n²/2⁵⁴ — negligible at the dataset sizes this product handles.

export function hash53(text: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const value = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return value.toString(16).padStart(14, '0');
}

/** The hash as a point in [0, 1), for deterministic splits. */
export function hashToUnit(hex: string): number {
  return parseInt(hex, 16) / 2 ** 53;
}
