import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDistillery } from '../../src/compose/index.js';
import { lazyPublicRoutes } from '../../src/compose/lazy-routes.js';
import { loadConfig } from '../../src/config.js';
import { createOpenApiRoutes } from '../../src/http/openapi.js';
import { fakeChatApp } from '../fixtures/fake-chat-app.js';

// The API description is imported by its first request (cold start, issue 19): served the same
// way as before through the composed app, with the outer app's headers.

describe('lazy public routes', () => {
  it('the composed app serves /openapi.json and /docs/api on first request', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lazy-routes-'));
    const d = await createDistillery(
      loadConfig({
        DISTILLERY_DATA_DIR: dir,
        DISTILLERY_CONFIG_JSON: JSON.stringify({ models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' } }, tasks: [{ name: 't', teacher: 'teacher' }] }),
      }),
    );
    try {
      const doc = await d.app.request('/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.headers.get('x-request-id')).toBeTruthy();
      expect((await doc.json()) as { openapi: string }).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
      const page = await d.app.request('/docs/api');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await page.text()).toContain('/v1/chat/completions');
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failed load answers with an error and is tried again by the next request', async () => {
    let calls = 0;
    const lazy = lazyPublicRoutes(['/openapi.json'], async () => {
      if (++calls === 1) throw new Error('import failed');
      return createOpenApiRoutes();
    });
    const { app } = fakeChatApp({ routes: [{ path: '', scope: 'public', app: lazy }] });
    expect((await app.request('/openapi.json')).status).toBe(500);
    expect((await app.request('/openapi.json')).status).toBe(200);
    expect(calls).toBe(2);
  });
});
