import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The README's two quick-start commands are the ones CI and the package actually use.

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('README quick start', () => {
  const readme = read('README.md');
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = block
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean);

  it('opens with exactly two commands: start on embedded defaults, run the tests', () => {
    expect(readme.indexOf('```sh')).toBeLessThan(readme.indexOf('\n## '));
    expect(commands).toEqual(['npm ci && npm start', 'npm test']);
  });
  it('.ci/run installs with npm ci and runs the same test command', () => {
    const ci = read('.ci/run');
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
    expect(ci).not.toMatch(/\|\|\s*true|set \+e/);
  });
  it('npm start builds and starts the server; npm test runs vitest over every test', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prestart).toBe('npm run build');
    expect(pkg.scripts.start).toBe('node dist/src/server.js');
    expect(pkg.scripts.test).toBe('vitest run');
  });
});
