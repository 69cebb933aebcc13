import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, layerViolations, type ImportGraph } from '../fixtures/import-graph.js';

// The layering rules of DESIGN.md and ARCHITECTURE.md, enforced (`npm run lint` runs this file):
// - src/core imports only src/core and zod, and never reads the environment or the file system;
// - an adapter imports core, its own folder and adapters/shared, never another adapter, http,
//   the composition root or app settings;
// - http depends on ports, never on adapters or the composition root;
// - no import cycles anywhere in src/ (strongly connected components of the import graph);
// - functions/ files stay thin.

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
function files(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name).split(path.sep).join('/')] : [],
  );
}
const importsOf = (source: string) =>
  [...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...source.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g), ...source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

/** The import graph of src/ and functions/: file → the project files it imports (relative specifiers resolved, .js → .ts). */
function projectGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of [...files('src'), ...files('functions')]) {
    const source = readFileSync(path.join(root, file), 'utf8');
    const targets = importsOf(source)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

describe('architecture', () => {
  const core = files('src/core');
  it('finds the core', () => expect(core.length).toBeGreaterThan(20));
  for (const file of core) {
    it(`${file} imports only core modules and zod`, () => {
      const source = readFileSync(path.join(root, file), 'utf8');
      for (const spec of importsOf(source)) {
        if (spec === 'zod') continue;
        expect(spec.startsWith('.'), `${file} imports '${spec}'`).toBe(true);
        const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
        expect(resolved.startsWith('src/core/'), `${file} reaches outside core: '${spec}'`).toBe(true);
      }
      expect(source).not.toMatch(/process\.env|require\(/);
    });
  }

  const graph = projectGraph();
  it('every relative import names a file that exists', () => {
    const missing = [...graph].flatMap(([from, targets]) => targets.filter((t) => !graph.has(t)).map((t) => `${from} → ${t}`));
    expect(missing).toEqual([]);
  });
  it('adapters import only core, their own folder and adapters/shared; http never imports adapters or the composition root', () => {
    expect(layerViolations(graph)).toEqual([]);
  });
  it('has no import cycles in src/ or functions/', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('functions/ files only parse the trigger, call one use case and register', () => {
    for (const file of files('functions')) {
      const source = readFileSync(path.join(root, file), 'utf8');
      expect(source.split('\n').length, file).toBeLessThan(40);
      expect(source).toMatch(/app\.(http|timer|serviceBusQueue)\(/);
    }
  });
});

// The checks themselves, on graphs made to break them: they must catch what they are for.
describe('architecture checks', () => {
  const base = (): ImportGraph =>
    new Map([
      ['src/core/ports.ts', []],
      ['src/adapters/sqlite/sqlite-pair-store.ts', ['src/core/ports.ts', 'src/adapters/shared/check-pair-record.ts']],
      ['src/adapters/shared/check-pair-record.ts', ['src/core/ports.ts']],
      ['src/adapters/cosmos/cosmos-pair-store.ts', ['src/core/ports.ts']],
      ['src/http/create-app.ts', ['src/core/ports.ts']],
      ['src/compose/index.ts', ['src/http/create-app.ts', 'src/adapters/sqlite/sqlite-pair-store.ts']],
    ]);
  it('accepts a well-layered graph', () => {
    expect(layerViolations(base())).toEqual([]);
    expect(importCycles(base())).toEqual([]);
  });
  it('catches an adapter importing another adapter', () => {
    const g = base();
    g.set('src/adapters/cosmos/cosmos-pair-store.ts', ['src/core/ports.ts', 'src/adapters/sqlite/sqlite-pair-store.ts']);
    expect(layerViolations(g)).toEqual(['src/adapters/cosmos/cosmos-pair-store.ts → src/adapters/sqlite/sqlite-pair-store.ts']);
  });
  it('catches http importing an adapter or the composition root, and an adapter importing app settings', () => {
    const g = base();
    g.set('src/http/create-app.ts', ['src/adapters/sqlite/sqlite-pair-store.ts', 'src/compose/index.ts']);
    g.set('src/adapters/shared/check-pair-record.ts', ['src/config.ts']);
    expect(layerViolations(g)).toHaveLength(3);
  });
  it('catches a cycle, however long, and names its files', () => {
    const g = base();
    g.set('src/core/ports.ts', ['src/core/a.ts']);
    g.set('src/core/a.ts', ['src/core/b.ts']);
    g.set('src/core/b.ts', ['src/core/ports.ts']);
    expect(importCycles(g)).toEqual([['src/core/a.ts', 'src/core/b.ts', 'src/core/ports.ts']]);
  });
});
