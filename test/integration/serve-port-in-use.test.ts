import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { runServe } from '../../src/serve-command.js';

// A port already taken ends `npm start` with a sentence naming DISTILLERY_PORT, not a bare
// EADDRINUSE (#20), and leaves nothing running behind it.

let blocker: Server;
let port: number;
let dataDir: string;

beforeAll(async () => {
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  port = (blocker.address() as AddressInfo).port;
  dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-port-'));
});
afterAll(async () => {
  await new Promise((resolve) => blocker.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('serve on a port in use', () => {
  it('fails with a hint naming DISTILLERY_PORT', async () => {
    const document = { models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' } }, tasks: [{ name: 'chat', teacher: 'teacher' }] };
    const started = runServe({
      env: {
        DISTILLERY_CONFIG_JSON: JSON.stringify(document),
        DISTILLERY_DATA_DIR: dataDir,
        DISTILLERY_HOST: '127.0.0.1',
        DISTILLERY_WORKER: 'false',
        DISTILLERY_API_KEYS: JSON.stringify([{ tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey('dk-port-test') }]),
      },
      port,
      embedded: true,
      quiet: true,
      print: () => undefined,
    });
    await expect(started).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining('DISTILLERY_PORT') });
    await expect(started).rejects.toThrow(`Port ${port} on 127.0.0.1 is already in use`);
  });
});
