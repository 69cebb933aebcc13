import type { Context } from 'hono';

// The source of a request, for per-source limits such as the failed-auth throttle. On the
// standalone server it is the socket's peer address (@hono/node-server passes the IncomingMessage
// as `env.incoming`); a client-supplied X-Forwarded-For is not trusted there. Inside Azure
// Functions there is no socket: the platform's front end appends the caller's address to
// X-Forwarded-For, so its last entry is the one a client cannot choose.

export function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const peer = env?.incoming?.socket?.remoteAddress;
  if (peer) return peer;
  const forwarded = c.req.header('x-forwarded-for');
  const last = forwarded?.split(',').at(-1)?.trim();
  if (!last) return 'unknown';
  // "203.0.113.7:52100" (App Service adds the port) → the address alone; IPv6 stays as it is.
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(last);
  return (v4WithPort ? v4WithPort[1]! : last).slice(0, 64);
}
