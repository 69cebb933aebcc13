import { Hono } from 'hono';
import type { AppEnv } from '../http/create-app.js';

// Public GET routes whose module is imported by their first request instead of at start (issue 19,
// cold start): the API description (/openapi.json, /docs/api) is generated from every validation
// schema when its module loads, work no chat request needs. The outer app still owns the routes
// (auth, request id, metrics by route); the loaded group answers them.

export function lazyPublicRoutes(paths: readonly string[], load: () => Promise<Hono<AppEnv>>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  let loading: Promise<Hono<AppEnv>> | undefined;
  const routes = () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined; // a failed import is tried again by the next request
      throw err;
    }));
  for (const p of paths) {
    app.get(p, async (c) => {
      const res = await (await routes()).fetch(c.req.raw, c.env);
      // Answered through this context, so that headers the outer app set (x-request-id) go out too.
      return c.body(await res.arrayBuffer(), res.status as 200, Object.fromEntries(res.headers));
    });
  }
  return app;
}
