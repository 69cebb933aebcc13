// Python's f"{x:.Nf}" rounds the exact binary value half-to-even; JavaScript's toFixed rounds exact
// ties up. Score strings must match sacreBLEU character for character, so ties are settled here
// the Python way (e.g. 0.125 → "0.12", not "0.13").

/** Formats like Python's `format(x, f'.{digits}f')`. */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const plain = x.toFixed(digits);
  if (Math.abs(x) >= 1e21) return plain;
  // toFixed(d + 60) expands the double exactly far enough to tell a true tie from a near one.
  const expanded = Math.abs(x).toFixed(Math.min(100, digits + 60));
  const dot = expanded.indexOf('.');
  const tail = expanded.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return plain;
  // An exact tie: round half to even on the last kept digit.
  const kept = expanded.slice(0, dot + 1 + digits).replace(/\.$/, '');
  const lastDigit = Number(kept.replace('.', '').slice(-1));
  const truncated = kept;
  if (lastDigit % 2 === 0) return (x < 0 ? '-' : '') + truncated;
  return plain;
}
