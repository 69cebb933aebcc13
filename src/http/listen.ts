import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// Serves a fetch handler (the Hono app) on Node with @hono/node-server: the standalone server's
// socket, the same app as the Azure Function.
//
// Graceful close with a deadline: stop accepting; every response not yet started (in flight, or
// a request that arrives on a kept-alive socket meanwhile) goes out with `Connection: close`, so
// clients open no further requests on it; sockets are closed as soon as they fall idle; at the
// deadline whatever is still open is cut. Without this, keep-alive clients keep a closing server
// busy for as long as they keep sending.

export interface RunningServer {
  url: string;
  port: number;
  /** Resolves once every connection is closed, at the latest at the deadline (default 10 s). */
  close(options?: { deadlineInMs?: number }): Promise<void>;
}

// Any app's env: the socket does not care.
export async function listen(app: Hono<any>, options: { host: string; port: number }): Promise<RunningServer> {
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', reject);
  });
  const http = server as Server;
  const active = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;
  const closeIdleSoon = () => setImmediate(() => http.closeIdleConnections());
  http.on('request', (_req, res: ServerResponse) => {
    active.add(res);
    if (closing) endsConnection(res);
    res.once('close', () => {
      active.delete(res);
      if (closing) closeIdleSoon(); // the socket just fell idle
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const close = (deadlineInMs = 10_000) =>
    (closing ??= new Promise<void>((resolve) => {
      for (const res of active) endsConnection(res);
      const timer = setTimeout(() => http.closeAllConnections(), Math.max(0, deadlineInMs));
      http.close(() => {
        clearTimeout(timer);
        resolve();
      });
      http.closeIdleConnections();
    }));
  return { url: `http://${host}:${port}`, port, close: (o) => close(o?.deadlineInMs) };
}

/** The response, if not started yet, tells the client this connection ends with it. */
function endsConnection(res: ServerResponse) {
  if (!res.headersSent) res.setHeader('connection', 'close');
}
