import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Issue 19: a Functions cold start on the HTTP trigger path imports only what serving a chat
// request needs. The SDKs (openai, @azure/identity and MSAL, Cosmos DB, Service Bus, Blob),
// OpenTelemetry, onnxruntime, protobufjs, tiktoken and cron-parser load when configured or first
// used (dynamic import), never through the static import graph of the entry point. A static import
// of any of them from a module on that graph puts ~50-300 ms back into every cold start
// (bench/gateway-cold-start.ts measures it).

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Packages a cold start on embedded defaults may load: the app, its router, its validator, its store, its teacher transport. */
const ALLOWED = new Set(['@azure/functions', 'hono', 'zod', 'undici', 'better-sqlite3']);

// Value imports only: `import type` is erased, `import()` is deferred.
const STATIC_IMPORT = /^\s*(import|export)\s+(?!type\s)([^'";]*?\bfrom\s+)?['"]([^'"]+)['"]/gm;

/** Every package reachable from `entry` through static value imports, with one chain that reaches it. */
function staticPackages(entry: string): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const visit = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(path.join(root, file), 'utf8');
    for (const m of source.matchAll(STATIC_IMPORT)) {
      const spec = m[3]!;
      if (spec.startsWith('.')) visit(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts'), [...chain, file]);
      else if (!spec.startsWith('node:')) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!packages.has(name)) packages.set(name, [...chain, file]);
      }
    }
  };
  visit(entry, []);
  return packages;
}

describe('cold start imports (issue 19)', () => {
  it('the HTTP trigger statically imports only the packages serving needs', () => {
    const packages = staticPackages('functions/http-api.ts');
    const extra = [...packages].filter(([name]) => !ALLOWED.has(name)).map(([name, chain]) => `${name} via ${chain.join(' → ')}`);
    expect(extra).toEqual([]);
    // The check sees through the graph: the packages serving does need are found.
    expect([...packages.keys()]).toEqual(expect.arrayContaining(['@azure/functions', 'hono', 'zod', 'undici']));
  });

  it('the pattern skips type-only and dynamic imports and keeps value imports', () => {
    const source = [
      "import type { A } from 'openai';",
      "import { type B, c } from 'hono';",
      "const x = await import('onnxruntime-node');",
      "export { d } from './d.js';",
      "import 'zod';",
    ].join('\n');
    expect([...source.matchAll(STATIC_IMPORT)].map((m) => m[3])).toEqual(['hono', './d.js', 'zod']);
  });
});
