import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { createPool, requestOn } from '../../src/adapters/openai/undici-pool.js';

// The teacher client's undici Pool comes from two internal modules instead of undici's entry
// (cold start, issue 19): they must keep working as undici's public Pool does, on every update.

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('undici-pool', () => {
  it('posts over a pool made from the internal modules, and over undici’s public Pool alike', async () => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json', 'x-seen': req.headers['x-k'] ?? '' }).end(JSON.stringify({ echo: body })));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pools = [createPool(origin, { connections: 2, pipelining: 1 }), new Pool(origin)];
    try {
      for (const pool of pools) {
        const res = await requestOn(pool, { method: 'POST', path: '/x', headers: { 'x-k': 'v' }, body: 'hello', signal: new AbortController().signal });
        expect(res.statusCode).toBe(201);
        expect(res.headers['x-seen']).toBe('v');
        expect(await res.body.json()).toEqual({ echo: 'hello' });
      }
    } finally {
      await Promise.all(pools.map((p) => p.close()));
      server.close();
    }
  });

  it('does not load undici’s entry module', () => {
    const script = `
      await import(${JSON.stringify(path.join(root, 'src/adapters/openai/undici-pool.ts'))});
      const { createRequire } = await import('node:module');
      const cache = createRequire(import.meta.url).cache;
      console.log(JSON.stringify(Object.keys(cache).filter((k) => k.includes('undici')).map((k) => k.split('node_modules/undici/')[1])));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const loaded = JSON.parse(out.trim().split('\n').at(-1)!) as string[];
    expect(loaded).toContain('lib/dispatcher/pool.js');
    expect(loaded).not.toContain('index.js');
    expect(loaded.some((f) => f.startsWith('lib/mock/') || f.startsWith('lib/web/fetch/'))).toBe(false);
  });
});
