import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// Serves a fetch handler (the Hono app) on Node with @hono/node-server: the standalone server's
// socket, the same app as the Azure Function.

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

// Any app's env: the socket does not care.
export async function listen(app: Hono<any>, options: { host: string; port: number }): Promise<RunningServer> {
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
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
        (server as Server).closeIdleConnections?.();
      }),
  };
}
