import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT, main } from '../../src/cli.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// `distillery keys create|list|revoke` against a running server, with --json.

const OPERATOR = 'dk-test-operator';
let h: Harness;
let server: RunningServer;

beforeAll(async () => {
  h = await startHarness({ env: { DISTILLERY_API_KEYS: JSON.stringify([{ tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR) }, { tenant: 'tenant-a', scopes: ['admin'], sha256: hashApiKey(KEYS.admin) }]) } });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
});

async function run(key: string, ...args: string[]): Promise<{ code: number; stdout: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const code = await main(['node', 'distillery', '--url', server.url, '--key', key, ...args]);
    return { code, stdout: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('distillery keys', () => {
  it('creates, lists and revokes a key; a tenant admin key exits 3', async () => {
    const created = await run(OPERATOR, '--json', 'keys', 'create', '--tenant', 'acme', '--name', 'ci');
    expect(created.code).toBe(EXIT.ok);
    const key = JSON.parse(created.stdout) as { id: string; key: string };
    expect(key.key).toMatch(/^dk-/);
    const listed = await run(OPERATOR, '--json', 'keys', 'list');
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((k) => k.id)).toContain(key.id);
    expect(listed.stdout).not.toContain(key.key);
    const human = await run(OPERATOR, 'keys', 'list');
    expect(human.stdout).toMatch(/^id\s+tenant\s+scopes/);
    expect((await run(OPERATOR, 'keys', 'revoke', key.id)).code).toBe(EXIT.ok);
    expect((await run(key.key, 'keys', 'list')).code).toBe(EXIT.api);
    expect((await run(KEYS.admin, 'keys', 'list')).code).toBe(EXIT.api);
  });
});
