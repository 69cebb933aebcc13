import type { Principal } from './api-key-auth.js';

// What every route of the app may read from the request context (set by the app's middleware).

export interface AppEnv {
  Variables: { principal: Principal; tenant: string; requestId: string; task?: string; arm?: string };
  Bindings: { context?: unknown };
}
