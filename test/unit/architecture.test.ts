import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The layering rule of DESIGN.md, enforced: src/core imports only src/core and zod, and never
// reads the environment or the file system; functions/ files stay thin.

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
function files(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}
const importsOf = (source: string) => [...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...source.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);

describe('architecture', () => {
  const core = files('src/core');
  it('finds the core', () => expect(core.length).toBeGreaterThan(20));
  for (const file of core) {
    it(`${file} imports only core modules and zod`, () => {
      const source = readFileSync(path.join(root, file), 'utf8');
      for (const spec of importsOf(source)) {
        if (spec === 'zod') continue;
        expect(spec.startsWith('.'), `${file} imports '${spec}'`).toBe(true);
        const resolved = path.normalize(path.join(path.dirname(file), spec));
        expect(resolved.startsWith(path.normalize('src/core')), `${file} reaches outside core: '${spec}'`).toBe(true);
      }
      expect(source).not.toMatch(/process\.env|require\(/);
    });
  }
  it('functions/ files only parse the trigger, call one use case and register', () => {
    for (const file of files('functions')) {
      const source = readFileSync(path.join(root, file), 'utf8');
      expect(source.split('\n').length, file).toBeLessThan(40);
      expect(source).toMatch(/app\.(http|timer|serviceBusQueue)\(/);
    }
  });
});
