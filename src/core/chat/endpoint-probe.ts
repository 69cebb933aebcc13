// What registering an OpenAI-compatible endpoint as a student checks before anything is written
// (Azure ML's endpoint validation calls the endpoint's info route and one sample inference): the
// named key setting exists, the model list answers (or the runtime has none), one short chat
// completion with the model succeeds. The adapter says what failed; http turns it into a 422.

export interface ProbedEndpoint {
  baseURL: string;
  model: string;
  apiKeySetting?: string;
}

export type EndpointProbeFailure =
  /** Connection refused, DNS, TLS, or no answer within the deadline. */
  | 'unreachable'
  /** The runtime answered 401/403: the key is missing or wrong. */
  | 'unauthorized'
  /** The runtime does not serve the model (404, or a 400 naming the model). */
  | 'model_not_found'
  /** Anything else: an error status, or an answer that is no chat completion. */
  | 'failed';

export type EndpointProbeResult =
  | { ok: true; /** Model ids from GET {baseURL}/models; undefined when the runtime has no such route. */ listed?: string[]; latencyInMs: number }
  | { ok: false; failure: EndpointProbeFailure; /** The upstream status, when it answered. */ status?: number; detail: string; listed?: string[] };

export interface EndpointProbe {
  /** Whether the app setting a registration names as its key holder is set (never its value). */
  hasSetting(name: string): boolean;
  probe(endpoint: ProbedEndpoint, options?: { abortSignal?: AbortSignal }): Promise<EndpointProbeResult>;
}
