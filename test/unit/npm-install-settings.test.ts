import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The offline install: onnxruntime-node's install script (a CUDA download) must never run, and npm
// must not warn on every command about a key it does not know (#20). The script is denied by
// package.json's allowScripts; .npmrc carries no unknown keys.

const run = promisify(execFile);

describe('npm install settings', () => {
  it('denies onnxruntime-node its install script through allowScripts', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
  });

  it('gives npm no unknown project config to warn about', async () => {
    const { stderr } = await run('npm', ['config', 'get', 'registry'], { timeout: 60_000 });
    expect(stderr).not.toMatch(/Unknown project config/);
  });
});
