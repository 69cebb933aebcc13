import type { Dispatcher, Pool } from 'undici';
import PoolClass from 'undici/lib/dispatcher/pool.js';
import request from 'undici/lib/api/api-request.js';

// undici's Pool and its `request`, without undici's entry module (issue 19, cold start). The entry
// loads every dispatcher, the mock agents, interceptors, caches, fetch and WebSocket: ~3.5× the
// CPU of these two modules, paid by every Functions cold start before its first teacher call. The
// entry also copies the API methods onto Dispatcher.prototype; `requestOn` calls `request` on the
// dispatcher instead, so a Pool made here and any dispatcher a test injects work alike.
// undici has no `exports` map: these paths are importable, and test/unit/undici-pool.test.ts
// checks them against undici's own Pool on every run.

export function createPool(origin: string, options: Pool.Options): Dispatcher {
  return new PoolClass(origin, options);
}

/** `dispatcher.request(options)`, for a dispatcher with or without undici's API methods. */
export function requestOn(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return request.call(dispatcher, options);
}
