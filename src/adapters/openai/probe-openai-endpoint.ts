import OpenAI, { APIConnectionError, APIError } from 'openai';
import type { EndpointProbe, EndpointProbeResult, ProbedEndpoint } from '../../core/chat/endpoint-probe.js';

// Probes an OpenAI-compatible runtime (Foundry Local, Ollama, llama.cpp server, vLLM) before it is
// registered as a student, through the openai SDK with the key serving will send: GET /models
// (a runtime without the route is fine: its 404 is tolerated), then one chat completion of one
// token with the model. Each call has a short deadline and no retries: an operator is waiting.

export interface ProbeOptions {
  env: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  /** Deadline of GET /models. */
  listTimeoutInMs?: number;
  /** Deadline of the sample chat completion (a runtime may load the model on first use). */
  chatTimeoutInMs?: number;
}

export const DEFAULT_PROBE_TIMEOUTS = { listTimeoutInMs: 5_000, chatTimeoutInMs: 10_000 } as const;

export function createEndpointProbe(options: ProbeOptions): EndpointProbe {
  return {
    hasSetting: (name) => Boolean(options.env[name]),
    probe: (endpoint, o) => probeOpenAIEndpoint(endpoint, options, o?.abortSignal),
  };
}

const short = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…` : s);

async function probeOpenAIEndpoint(endpoint: ProbedEndpoint, options: ProbeOptions, abortSignal?: AbortSignal): Promise<EndpointProbeResult> {
  const started = Date.now();
  const key = endpoint.apiKeySetting ? options.env[endpoint.apiKeySetting] : undefined;
  // The same bearer serving sends (create-openai-model.ts): the key, or 'none' without a setting.
  const client = new OpenAI({ baseURL: endpoint.baseURL, apiKey: key ?? 'none', maxRetries: 0, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const listTimeout = options.listTimeoutInMs ?? DEFAULT_PROBE_TIMEOUTS.listTimeoutInMs;
  const chatTimeout = options.chatTimeoutInMs ?? DEFAULT_PROBE_TIMEOUTS.chatTimeoutInMs;
  let listed: string[] | undefined;
  try {
    const page = await client.models.list({ timeout: listTimeout, ...(abortSignal ? { signal: abortSignal } : {}) });
    listed = Array.isArray(page.data) ? page.data.map((m) => String(m.id)) : undefined;
  } catch (err) {
    const f = classify(err, 'GET /models', listTimeout);
    // 404/405/501 and other errors of the list: many runtimes have no such route; the chat decides.
    if (f.failure === 'unreachable' || f.failure === 'unauthorized') return f;
  }
  try {
    const completion = await client.chat.completions.create(
      { model: endpoint.model, messages: [{ role: 'user', content: 'Reply with OK.' }], max_tokens: 1 },
      { timeout: chatTimeout, ...(abortSignal ? { signal: abortSignal } : {}) },
    );
    if (!Array.isArray((completion as { choices?: unknown }).choices)) {
      return { ok: false, failure: 'failed', detail: 'POST /chat/completions answered 200 without `choices`: not an OpenAI-compatible chat completions route', ...(listed ? { listed } : {}) };
    }
    return { ok: true, ...(listed ? { listed } : {}), latencyInMs: Date.now() - started };
  } catch (err) {
    const f = classify(err, 'POST /chat/completions', chatTimeout);
    const unlisted = listed !== undefined && !listed.includes(endpoint.model);
    const mentionsModel = f.status === 400 && /model/i.test(f.detail);
    if (f.status === 404 || mentionsModel || (unlisted && f.status !== undefined && f.status >= 400 && f.status < 500 && f.failure === 'failed')) {
      return { ...f, failure: 'model_not_found', ...(listed ? { listed } : {}) };
    }
    return { ...f, ...(listed ? { listed } : {}) };
  }
}

/** The innermost cause's code (ECONNREFUSED, ENOTFOUND, …) under the SDK's and fetch's wrappers. */
function rootCause(err: Error): string {
  let e: unknown = err.cause;
  let last = '';
  for (let i = 0; i < 5 && e instanceof Error; i++, e = e.cause) last = (e as NodeJS.ErrnoException).code ?? e.message;
  return last ? `: ${last}` : '';
}

function classify(err: unknown, call: string, timeoutInMs: number): Extract<EndpointProbeResult, { ok: false }> {
  if (err instanceof APIConnectionError) {
    const timedOut = err.constructor.name === 'APIConnectionTimeoutError' || /timed? ?out/i.test(err.message);
    const cause = rootCause(err);
    return { ok: false, failure: 'unreachable', detail: timedOut ? `${call} did not answer within ${timeoutInMs / 1000} s` : `${call} failed to connect${cause}` };
  }
  if (err instanceof APIError && err.status !== undefined) {
    const failure = err.status === 401 || err.status === 403 ? 'unauthorized' : 'failed';
    return { ok: false, failure, status: err.status, detail: `${call} answered ${short(err.message)}` };
  }
  if (err instanceof Error && err.name === 'AbortError') return { ok: false, failure: 'unreachable', detail: `${call} was aborted` };
  return { ok: false, failure: 'failed', detail: `${call}: ${short(err instanceof Error ? err.message : String(err))}` };
}
