// The wait an HTTP response asks for, read from its headers once at the adapter edge (core reads
// only the hint put on the error; see core/retry.ts): `retry-after-ms` (Azure OpenAI), then
// `retry-after` as delta-seconds or an HTTP date.

type HeaderSource = { get?: (name: string) => string | null } | Record<string, unknown> | null | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  const v = h[name];
  return typeof v === 'string' ? v : undefined;
}

/** Milliseconds to wait, or undefined when the response gave no usable hint. */
export function retryAfterHeaderInMs(headers: HeaderSource, nowInMs: number): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && ms !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = header(headers, 'retry-after');
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowInMs);
}
