import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Distillery } from './compose.js';

// The standalone server: the same Hono app as the Azure Function, on @hono/node-server.

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(distillery: Distillery, options: { host: string; port: number }): Promise<RunningServer> {
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: distillery.app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open.
        (server as import('node:http').Server).closeIdleConnections?.();
      }),
  };
}

async function main() {
  const { runServe } = await import('./serve-command.js');
  await runServe({});
}

// Installed as a bin, argv[1] is a symlink while import.meta.url is the real file.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
