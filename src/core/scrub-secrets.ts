// Credentials removed from text that leaves the request: log lines and the error summaries stored
// in pair records. Upstream services echo keys in their errors ("Incorrect API key provided:
// sk-…"); such text must never be stored or logged as is. Each pattern is linear: a fixed prefix,
// then one run of a single character class.

const SECRETS: [RegExp, string][] = [
  // OpenAI-style and Distillery keys: sk-…, sk-proj-…, dk-…
  [/\b(sk|dk|pk|rk)-[A-Za-z0-9_-]{8,}/g, '$1-[REDACTED]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [REDACTED]'],
  // key=value and "key": "value" forms of api keys, tokens, passwords, signatures, connection strings.
  [/\b(api[-_]?key|access[-_]?token|token|password|secret|sig|AccountKey|SharedAccessKey)(["']?\s{0,3}[:=]\s{0,3}["']?)[^\s"',;&}]{4,}/gi, '$1$2[REDACTED]'],
];

/** The text with credentials replaced, cut to `maxChars` (log lines stay one short line). */
export function scrubSecrets(text: string, maxChars = 500): string {
  let out = text.length > maxChars * 4 ? text.slice(0, maxChars * 4) : text;
  for (const [pattern, replacement] of SECRETS) out = out.replace(pattern, replacement);
  return out.length > maxChars ? `${out.slice(0, maxChars)}…` : out;
}
