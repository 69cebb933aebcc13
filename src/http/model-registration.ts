import { z } from 'zod';
import type { EndpointProbe, EndpointProbeResult } from '../core/chat/endpoint-probe.js';
import { DistilleryError, invalidRequest } from '../core/errors.js';
import type { ModelVersion } from '../core/ports.js';

// `POST /admin/tasks/{task}/models`: an OpenAI-compatible endpoint registered as a student version
// of a task — a local runtime (Foundry Local, Ollama, llama.cpp server, vLLM) serving a model
// fine-tuned on an exported dataset. The version is served by the OpenAI-compatible adapter with
// default settings. A key is never sent in the body: the server reads it from an app setting whose
// name starts with DISTILLERY_STUDENT_KEY, so an admin key cannot have another of the app's secrets
// (storage or Cosmos DB keys, the teacher's key) sent to a URL of its choosing.

export const STUDENT_KEY_SETTING = /^DISTILLERY_STUDENT_KEY[A-Z0-9_]{0,100}$/;

export const registerModelBody = z
  .object({
    /** OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 (Ollama) or http://localhost:8000/v1 (vLLM). */
    baseURL: z
      .string()
      .url()
      .max(2048)
      .refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be an http or https URL')
      .refine((u) => !new URL(u).username && !new URL(u).password, 'must not carry credentials; name a key setting in apiKeySetting'),
    /** Model name the runtime serves, sent as `model` upstream (e.g. phi4-mini, llama3.1:8b). */
    model: z.string().min(1).max(256),
    /** App setting holding the runtime's key (DISTILLERY_STUDENT_KEY…); without it no key is sent. */
    apiKeySetting: z.string().regex(STUDENT_KEY_SETTING, 'must be an app setting named DISTILLERY_STUDENT_KEY[A-Z0-9_]*').optional(),
    /** Serve it at once (otherwise `models promote` later). */
    promote: z.boolean().default(false),
    /** Free text kept with the version (what it was fine-tuned on, by which tool). */
    description: z.string().max(500).optional(),
    /** Call GET {baseURL}/models and one short chat completion before registering (false: a runtime not up yet). */
    probe: z.boolean().default(true),
  })
  .strict();

export type RegisterModelBody = z.infer<typeof registerModelBody>;

/** Validates the body; bad input is a 400 naming the field. */
export function parseRegisterModelBody(input: unknown): RegisterModelBody {
  const parsed = registerModelBody.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.join('.') || null;
    throw invalidRequest(`Invalid model registration: ${param ? `${param}: ` : ''}${issue?.message ?? 'invalid'}`, param, 'invalid_model_registration');
  }
  return parsed.data;
}

/** The registry record of a registered endpoint (a remote version without a configured modelRef). */
export function registeredVersion(task: string, body: RegisterModelBody, registeredBy: string): Omit<ModelVersion, 'id' | 'version' | 'state' | 'createdAt' | 'etag'> {
  return {
    task,
    kind: 'remote',
    endpoint: { baseURL: body.baseURL, model: body.model, ...(body.apiKeySetting ? { apiKeySetting: body.apiKeySetting } : {}) },
    lineage: { hyperparameters: { source: 'registered endpoint', registeredBy, ...(body.description ? { description: body.description } : {}), ...(body.probe ? {} : { probed: false }) } },
  };
}

const refused = (message: string, code: string, param: string) => new DistilleryError(message, { status: 422, type: 'invalid_request_error', code, param });

/**
 * Refuses (422 naming the field) a registration whose key setting is not set, and, unless
 * `probe: false`, one whose endpoint does not answer a chat completion with its model: before
 * anything is written to the registry. The key setting is checked without a probe too: serving
 * would otherwise send no key at all.
 */
export async function checkRegistration(body: RegisterModelBody, probe: EndpointProbe | undefined, abortSignal?: AbortSignal): Promise<void> {
  if (!probe) return;
  if (body.apiKeySetting && !probe.hasSetting(body.apiKeySetting)) {
    throw refused(`Invalid model registration: apiKeySetting: the app setting ${body.apiKeySetting} is not set on this server; set it (and restart) before registering.`, 'key_setting_missing', 'apiKeySetting');
  }
  if (!body.probe) return;
  const result = await probe.probe({ baseURL: body.baseURL, model: body.model, ...(body.apiKeySetting ? { apiKeySetting: body.apiKeySetting } : {}) }, abortSignal ? { abortSignal } : {});
  if (!result.ok) throw probeError(body, result);
}

function probeError(body: RegisterModelBody, r: Extract<EndpointProbeResult, { ok: false }>): DistilleryError {
  const noProbe = ' (register with probe: false, CLI --no-probe, for a runtime that is not up yet)';
  switch (r.failure) {
    case 'unreachable':
      return refused(`Invalid model registration: baseURL: ${body.baseURL} is unreachable: ${r.detail}${noProbe}.`, 'endpoint_unreachable', 'baseURL');
    case 'unauthorized':
      return refused(
        `Invalid model registration: apiKeySetting: the runtime refused ${body.apiKeySetting ? `the key in ${body.apiKeySetting}` : 'a call without a key; name the setting holding its key in apiKeySetting'} (${r.detail}).`,
        'endpoint_unauthorized',
        'apiKeySetting',
      );
    case 'model_not_found': {
      const served = r.listed?.length ? `; it lists ${r.listed.slice(0, 20).join(', ')}` : '';
      return refused(`Invalid model registration: model: ${body.baseURL} does not serve '${body.model}' (${r.detail})${served}.`, 'model_not_found', 'model');
    }
    default:
      return refused(`Invalid model registration: baseURL: the sample chat completion failed: ${r.detail}${noProbe}.`, 'endpoint_probe_failed', 'baseURL');
  }
}
