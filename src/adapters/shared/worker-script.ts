import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// How to start a worker thread on a module next to the caller, both when running compiled
// JavaScript (dist/) and when the caller is TypeScript source under vitest or tsx.

export interface WorkerScript {
  script: URL | string;
  eval: boolean;
}

/** The Worker arguments for module `name` (no extension) in the folder of `callerUrl` (import.meta.url). */
export function workerScript(callerUrl: string, name: string): WorkerScript {
  // A module loaded through tsx's scoped API carries a query (?tsx-namespace=…) after its path.
  const caller = new URL(callerUrl);
  caller.search = '';
  if (!caller.pathname.endsWith('.ts')) return { script: new URL(`./${name}.js`, caller), eval: false };
  // Under vitest/tsx the caller is the .ts source, so the worker must load TypeScript too.
  // `--import tsx` in a worker's execArgv does not reach its module loader on Node 20, so a tiny
  // bootstrap loads the entry through tsx's scoped API instead.
  const require = createRequire(caller);
  const api = pathToFileURL(require.resolve('tsx/esm/api')).href.replace(/index\.cjs$/u, 'index.mjs');
  const entry = new URL(`./${name}.ts`, caller).href;
  return {
    script: `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(caller.href)}));`,
    eval: true,
  };
}
