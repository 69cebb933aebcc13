import type { EndpointProbe } from '../core/chat/endpoint-probe.js';

// The probe of `POST /admin/tasks/{task}/models` (adapters/openai/probe-openai-endpoint.ts), its
// module (and the openai SDK) imported on the first registration, never at cold start.

export function lazyEndpointProbe(env: Readonly<Record<string, string | undefined>>, fetchImpl?: typeof fetch): EndpointProbe {
  let loaded: Promise<EndpointProbe> | undefined;
  const get = () =>
    (loaded ??= import('../adapters/openai/probe-openai-endpoint.js').then(
      ({ createEndpointProbe }) => createEndpointProbe({ env, ...(fetchImpl ? { fetch: fetchImpl } : {}) }),
      (err: unknown) => {
        loaded = undefined;
        throw err;
      },
    ));
  return {
    hasSetting: (name) => Boolean(env[name]),
    probe: async (endpoint, o) => (await get()).probe(endpoint, o),
  };
}
