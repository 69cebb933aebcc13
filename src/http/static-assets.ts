import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// Chart.js is served by the app itself (no CDN, nothing fetched from the network): its UMD build
// is read from the installed package once and kept in memory. The package's `exports` map hides
// dist/, so the file is found next to the entry point that `require.resolve` does expose.

let chartJs: Promise<string> | undefined;

export function chartJsPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('chart.js')), 'chart.umd.js');
}

/** The Chart.js UMD bundle (defines `window.Chart`), read once. */
export function chartJsSource(): Promise<string> {
  chartJs ??= readFile(chartJsPath(), 'utf8')
    // The source map is not served; dropping the comment keeps browsers from asking for it.
    .then((src) => src.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'))
    .catch((err: unknown) => {
      chartJs = undefined;
      throw err;
    });
  return chartJs;
}
