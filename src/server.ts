import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { runServe } from './serve-command.js';

// The standalone server (`npm start`): the same Hono app as the Azure Function, on Node.

// Installed as a bin, argv[1] is a symlink while import.meta.url is the real file.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runServe({}).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
