import type { Command } from 'commander';

// What every `distillery` command shares: exit codes, the typed CLI error, the admin API client
// and the output switch (--json prints the value as JSON, otherwise the human text).

export const EXIT = { ok: 0, failure: 1, usage: 2, api: 3, jobNotPromoted: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  url: string;
  key?: string;
  json?: boolean;
}

export async function api<T>(opts: ApiOptions, method: string, path: string, body?: unknown): Promise<T> {
  if (!opts.key) throw new CliError('No API key: pass --key or set DISTILLERY_API_KEY.', EXIT.usage);
  let res: Response;
  try {
    res = await fetch(new URL(path, opts.url), {
      method,
      headers: { authorization: `Bearer ${opts.key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new CliError(`Cannot reach ${opts.url}: ${(err as Error).message}`, EXIT.api);
  }
  const text = await res.text();
  if (!res.ok) {
    const message = apiErrorMessage(text);
    throw new CliError(`HTTP ${res.status}: ${message}`, EXIT.api);
  }
  // Exactly application/json: JSONL (application/jsonl) is many documents, returned as text.
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  return (type === 'application/json' ? JSON.parse(text) : text) as T;
}

export function apiOptions(cmd: Command): ApiOptions {
  return cmd.optsWithGlobals() as ApiOptions;
}

export function out(opts: { json?: boolean }, value: unknown, human: () => string) {
  console.log(opts.json ? JSON.stringify(value, null, 2) : human());
}


/** The message of an OpenAI-style error body, or the body itself when it is not one. */
export function apiErrorMessage(text: string): string {
  try {
    return (JSON.parse(text) as { error: { message: string } }).error.message ?? text;
  } catch {
    return text; // not JSON: keep the text
  }
}
