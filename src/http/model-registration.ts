import { z } from 'zod';
import { invalidRequest } from '../core/errors.js';
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
    lineage: { hyperparameters: { source: 'registered endpoint', registeredBy, ...(body.description ? { description: body.description } : {}) } },
  };
}
