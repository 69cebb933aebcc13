import { describe, expect, it } from 'vitest';
import { createOpenApiRoutes } from '../../src/http/openapi.js';
import { fakeChatApp } from '../fixtures/fake-chat-app.js';

// The reference routes need no platform: the app over fakes, with the OpenAPI routes mounted.
const { app } = fakeChatApp({ routes: [{ path: '', scope: 'public', app: createOpenApiRoutes() }] });

describe('OpenAPI', () => {
  it('serves /openapi.json built from the request schemas', async () => {
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> };
    expect(doc.openapi).toBe('3.1.0');
    const chat = doc.paths['/v1/chat/completions']!.post!;
    const props = chat.requestBody!.content['application/json']!.schema.properties;
    for (const field of ['model', 'messages', 'temperature', 'stream', 'stream_options', 'metadata', 'response_format', 'logprobs']) expect(props).toHaveProperty(field);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/admin/jobs/{id}', '/admin/tasks/{task}/rollback', '/admin/reports/online']));
  });
  it('serves a browsable page with no scripts under a strict CSP', async () => {
    const res = await app.request('/docs/api');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).toContain('/v1/chat/completions');
    expect(html).not.toMatch(/<script/i);
  });
});
