import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIModel } from '../../src/adapters/openai/create-openai-model.js';
import { modelSettingsSchema } from '../../src/core/chat/model-settings.js';
import type { ChatModel } from '../../src/core/ports.js';
import { UpstreamError } from '../../src/core/errors.js';
import { startFakeOpenAIServer, type Fault, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// One contract over both transports of the OpenAI-compatible model: the openai SDK on fetch (taken
// when a fetch is injected) and the undici hot path (the default, issue 19). Same answers, same
// errors (status, retryability, retry-after hint, message), same retries, same time-outs, same
// Azure deployment URL and api-key header — against a real HTTP server on loopback.

const SECRET = 'sk-live-abcdefghijklmnopqrstuvwxyz123456';
let fake: FakeOpenAIServer;
const seen = new Map<string, number>();

function faultFor(prompt: string): Fault | undefined {
  const n = (seen.get(prompt) ?? 0) + 1;
  seen.set(prompt, n);
  if (prompt.startsWith('400')) return { kind: 'status', status: 400, message: `bad request for key ${SECRET}` };
  if (prompt.startsWith('429-always')) return { kind: 'status', status: 429, retryAfter: '0', message: 'quota exceeded' };
  if (prompt.startsWith('503-once')) return n === 1 ? { kind: 'status', status: 503, retryAfter: '0' } : undefined;
  if (prompt.startsWith('reset')) return { kind: 'reset' };
  if (prompt.startsWith('malformed')) return { kind: 'malformed-json' };
  if (prompt.startsWith('stall')) return { kind: 'stall-after-headers' };
  return undefined;
}

beforeAll(async () => {
  fake = await startFakeOpenAIServer({
    model: 'gpt-4o',
    answer: (req) => ({ text: `echo: ${req.body.messages.at(-1).content}`, promptTokens: 7, completionTokens: 3 }),
    fault: (req) => faultFor(String(req.body.messages?.at(-1)?.content ?? '')),
  });
});
afterAll(() => fake.close());

const transports = {
  'openai SDK on fetch': { fetch: globalThis.fetch },
  'undici hot path': {},
};

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

describe.each(Object.entries(transports))('OpenAIChatModel over %s', (name, transport) => {
  const model = (settings: Record<string, unknown> = {}): ChatModel =>
    createOpenAIModel('teacher', modelSettingsSchema.parse({ provider: 'openai', baseURL: fake.baseURL, auth: 'none', maxRetries: 2, ...settings }), { env: {}, ...transport });
  const ask = (m: ChatModel, content: string) => m.generate({ messages: [{ role: 'user', content: `${content} (${name})` }] });

  it('answers, unstreamed and streamed, with usage and finish reason', async () => {
    const r = await ask(model(), 'hello there');
    expect(r).toMatchObject({ text: `echo: hello there (${name})`, model: 'gpt-4o', finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 3 } });
    let text = '';
    const events = [];
    for await (const ev of model().stream({ messages: [{ role: 'user', content: 'stream me please' }] })) {
      events.push(ev);
      if (ev.type === 'delta') text += ev.text;
    }
    expect(text).toBe('echo: stream me please');
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 3 }, model: 'gpt-4o' });
    expect(fake.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
  });

  it('a 400 is not retried and carries the upstream status and its words, scrubbed', async () => {
    const err = await failure(ask(model(), '400'));
    expect(seen.get(`400 (${name})`)).toBe(1);
    expect(err).toMatchObject({ status: 502, upstreamStatus: 400, retryable: false });
    expect(err.message).toMatch(/^Upstream model 'teacher' failed: HTTP 400: bad request for key /);
    expect(err.message).not.toContain(SECRET);
  });

  it('429 with retry-after is retried maxRetries times, then fails with the hint', async () => {
    const err = await failure(ask(model(), '429-always'));
    expect(seen.get(`429-always (${name})`)).toBe(3);
    expect(err).toMatchObject({ status: 502, upstreamStatus: 429, retryable: true, retryAfterInSeconds: 0 });
    expect(err.message).toContain('HTTP 429: quota exceeded');
  });

  it('a transient 503 is retried transparently', async () => {
    expect((await ask(model(), '503-once')).text).toBe(`echo: 503-once (${name})`);
    expect(seen.get(`503-once (${name})`)).toBe(2);
  });

  it('a reset connection and malformed JSON end in a 502', async () => {
    expect(await failure(ask(model({ maxRetries: 0 }), 'reset'))).toMatchObject({ status: 502, code: 'upstream_error' });
    expect((await failure(ask(model(), 'malformed'))).message).toMatch(/malformed response/);
  });

  it('a teacher that stalls after its headers ends in a 504 near the idle time-out', async () => {
    const t0 = performance.now();
    const err = await failure(ask(model({ idleTimeoutInMs: 300, maxRetries: 0 }), 'stall'));
    expect(err).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('the caller aborting ends the call with an abort, not an upstream error', async () => {
    const controller = new AbortController();
    const call = model({ maxRetries: 0 }).generate({ messages: [{ role: 'user', content: `stall abort (${name})` }] }, { abortSignal: controller.signal });
    await expect.poll(() => fake.stalledOpen(), { timeout: 10_000 }).toBeGreaterThan(0);
    controller.abort();
    const err = await call.then(
      () => undefined,
      (e: Error) => e,
    );
    // The SDK's APIUserAbortError or a DOMException AbortError: never an UpstreamError (no breaker count).
    expect(err).not.toBeInstanceOf(UpstreamError);
    expect(`${err?.name} ${err?.constructor.name}`).toMatch(/AbortError/);
  });

  it('Azure OpenAI: deployment path, api-version and api-key header', async () => {
    const endpoint = fake.baseURL.replace(/\/v1$/, '/');
    const m = createOpenAIModel(
      'aoai',
      modelSettingsSchema.parse({ provider: 'azure-openai', endpoint, deployment: 'gpt-4o', apiVersion: '2024-10-21', apiKeySetting: 'AOAI_KEY' }),
      { env: { AOAI_KEY: 'azure-key-123' }, ...transport },
    );
    await ask(m, 'azure');
    const req = fake.requests.at(-1)!;
    expect(req.url).toBe('/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21');
    expect(req.headers['api-key']).toBe('azure-key-123');
  });
});
