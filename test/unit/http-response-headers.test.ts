import { describe, expect, it } from 'vitest';
import { ApiKeyAuthenticator, hashApiKey } from '../../src/http/api-key-auth.js';
import { pathOf } from '../../src/http/create-app.js';
import { FAKE_KEYS, fakeChatApp } from '../fixtures/fake-chat-app.js';

// Issue 19: the chat answer is built with plain headers (x-request-id among them) and the
// request-id middleware sets its header after the route; every other response must still carry
// x-request-id, with CORS on or off, and the request path logged without parsing a URL.

const valid = { model: 'support', messages: [{ role: 'user', content: 'freeze my card' }] };
const post = (app: ReturnType<typeof fakeChatApp>['app'], body: unknown, headers: Record<string, string> = {}) =>
  app.request('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${FAKE_KEYS.chat}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('response headers of the hot path', () => {
  it('the chat answer carries x-request-id (the client one, cleaned, or ours), the arm headers and JSON', async () => {
    const { app } = fakeChatApp();
    const echoed = await post(app, valid, { 'x-request-id': 'abc<>1' });
    expect(echoed.status).toBe(200);
    expect(echoed.headers.get('x-request-id')).toBe('abc1');
    expect(echoed.headers.get('content-type')).toBe('application/json');
    expect(echoed.headers.get('x-distillery-arm')).toBe('teacher');
    const body = (await echoed.json()) as { id: string };
    const ours = await post(app, valid);
    expect(ours.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(body.id).toMatch(/^chatcmpl-/);
  });

  it('errors, streams, health and 404s still carry x-request-id', async () => {
    const { app } = fakeChatApp();
    const responses = [
      await post(app, valid, { authorization: 'Bearer wrong', 'x-request-id': 'r1' }),
      await post(app, { ...valid, model: 'nope' }, { 'x-request-id': 'r2' }),
      await post(app, { ...valid, stream: true }, { 'x-request-id': 'r3' }),
      await app.request('/healthz', { headers: { 'x-request-id': 'r4' } }),
      await app.request('/no/such/route', { headers: { 'x-request-id': 'r5' } }),
    ];
    expect(responses.map((r) => r.status)).toEqual([401, 404, 200, 200, 404]);
    expect(responses.map((r) => r.headers.get('x-request-id'))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
  });

  it('with CORS configured, the chat answer keeps both the CORS and the request-id headers', async () => {
    const { app } = fakeChatApp({ corsOrigins: ['https://app.example'] });
    const res = await post(app, valid, { origin: 'https://app.example', 'x-request-id': 'cors-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('x-request-id')).toBe('cors-1');
    expect(res.headers.get('x-distillery-arm')).toBe('teacher');
  });
});

describe('pathOf', () => {
  it('equals new URL(url).pathname for the URLs a server hands the app', () => {
    for (const url of ['http://localhost/v1/chat/completions', 'http://127.0.0.1:8080/admin/pairs/x?limit=3', 'https://h/a/b#frag', 'http://h', 'http://h/?q=1', 'http://h/p%20q?x=/y']) {
      expect(pathOf(url)).toBe(new URL(url).pathname);
    }
  });
});

describe('configured keys', () => {
  it('a request gets the key\'s one principal, built at start and frozen (no Set or id per request)', () => {
    const auth = new ApiKeyAuthenticator([{ tenant: 't', scopes: ['chat'], sha256: hashApiKey('dk-one') }]);
    const a = auth.verify('dk-one');
    expect(a).toBeDefined();
    expect(auth.verify('dk-one')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect([...a!.scopes]).toEqual(['chat']);
    expect(auth.verify('dk-two')).toBeUndefined();
  });
});
