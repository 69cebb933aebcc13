import type { Principal } from './api-key-auth.js';

// What every route of the app may read from the request context (set by the app's middleware).

export interface AppEnv {
  Variables: {
    principal: Principal;
    tenant: string;
    requestId: string;
    /** The x-request-id the response carries (the client's, cleaned, or `requestId`). */
    responseRequestId: string;
    /** Set by a route whose response already carries x-request-id (built with plain headers). */
    requestIdSent?: boolean;
    task?: string;
    arm?: string;
  };
  Bindings: { context?: unknown };
}
