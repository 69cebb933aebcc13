import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { FAKE_KEYS, fakeChatApp } from '../fixtures/fake-chat-app.js';

// The HTTP layer on its own: createApp over a fake ChatService (no stores, no models, no socket).
// What the platform does behind the port is tested elsewhere; here, what the wire looks like.

const valid = { model: 'support', messages: [{ role: 'user', content: 'freeze my card' }] };
const post = (app: ReturnType<typeof fakeChatApp>['app'], body: unknown, headers: Record<string, string> = {}) =>
  app.request('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${FAKE_KEYS.chat}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('createApp over a fake chat service', () => {
  it('answers a completion in the OpenAI shape, with the served arm in headers and the caller tenant passed on', async () => {
    const { app, gateway } = fakeChatApp();
    const res = await post(app, valid, { 'x-request-id': 'client-id-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-distillery-arm')).toBe('teacher');
    expect(res.headers.get('x-distillery-model')).toBe('fake-teacher');
    const body = (await res.json()) as { object: string; choices: { message: { role: string; content: string }; finish_reason: string }[]; usage: Record<string, number> };
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'echo: freeze my card' });
    expect(body.choices[0]!.finish_reason).toBe('stop');
    expect(body.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(gateway.invocations).toHaveLength(1);
    expect(gateway.invocations[0]!.tenant).toBe('tenant-a');
    expect(gateway.invocations[0]!.task.config.name).toBe('support');
  });

  it('never reaches the chat service for a refused request', async () => {
    const { app, gateway } = fakeChatApp();
    expect((await post(app, valid, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(app, { ...valid, model: 'nope' })).status).toBe(404);
    expect((await post(app, { ...valid, messages: [] })).status).toBe(400);
    expect((await post(app, valid, { 'x-distillery-force-arm': 'student' })).status).toBe(403);
    expect(gateway.invocations).toHaveLength(0);
  });

  it('maps a typed error of the chat service onto its status and the OpenAI error object', async () => {
    const { app, gateway } = fakeChatApp();
    gateway.script = () => ({ error: new DistilleryError('the teacher timed out', { status: 504, type: 'server_error', code: 'upstream_timeout' }) });
    const res = await post(app, valid);
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ error: { message: 'the teacher timed out', type: 'server_error', param: null, code: 'upstream_timeout' } });
  });

  it('streams server-sent events ending in [DONE]', async () => {
    const { app, gateway } = fakeChatApp();
    gateway.script = () => ({
      events: [
        { type: 'delta', text: 'card ' },
        { type: 'delta', text: 'frozen' },
        { type: 'finish', finishReason: 'stop', model: 'fake-teacher', usage: { promptTokens: 3, completionTokens: 2 } },
      ],
    });
    const res = await post(app, { ...valid, stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)) as { choices: { delta: { content?: string }; finish_reason: string | null }[] });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('card frozen');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('ends a stream that fails after its headers with an OpenAI error event and no [DONE]', async () => {
    const { app, gateway } = fakeChatApp();
    gateway.script = () => ({ events: [{ type: 'delta', text: 'par' }], failAfter: new DistilleryError('upstream went away', { status: 502, type: 'server_error', code: 'upstream_error' }) });
    const res = await post(app, { ...valid, stream: true });
    expect(res.status).toBe(200);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events).not.toContain('data: [DONE]');
    expect(JSON.parse(events.at(-1)!.slice('data: '.length))).toMatchObject({ error: { code: 'upstream_error', type: 'server_error' } });
  });

  it('lets an admin key force an arm', async () => {
    const { app, gateway } = fakeChatApp();
    const res = await post(app, valid, { authorization: `Bearer ${FAKE_KEYS.admin}`, 'x-distillery-force-arm': 'student' });
    expect(res.status).toBe(200);
    expect(gateway.invocations[0]!.forcedArm).toBe('student');
  });
});
