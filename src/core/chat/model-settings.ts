import { z } from 'zod';

// How Distillery reaches one OpenAI-compatible model (a teacher, a remote student, a judge): the
// `models` entries of the configuration document. Adapters build clients from it; core prices and
// routes by it.

export const modelSettingsSchema = z.object({
  provider: z.enum(['openai', 'azure-openai']).default('openai'),
  /**
   * A model the standalone server starts itself on a loopback port (`demo-teacher`: the local
   * stand-in for DeepSeek-V3 / GPT-4o). Its baseURL is filled in at start.
   */
  builtin: z.enum(['demo-teacher']).optional(),
  /** Price this model as another one of the pricing table (e.g. the demo teacher as gpt-4o). */
  priceAs: z.string().optional(),
  /** OpenAI-compatible base URL (Foundry: https://<resource>.services.ai.azure.com/models, others: .../v1). */
  baseURL: z.string().url().optional(),
  /** Azure OpenAI resource endpoint, https://<resource>.openai.azure.com/ */
  endpoint: z.string().url().optional(),
  deployment: z.string().optional(),
  apiVersion: z.string().default('2024-10-21'),
  /** Model name sent upstream (defaults to the deployment or the id). */
  model: z.string().optional(),
  /** Name of the setting that holds the key (never the key itself in the JSON document). */
  apiKeySetting: z.string().optional(),
  /** `key`: api-key from apiKeySetting; `entra`: DefaultAzureCredential; `none`: no auth. */
  auth: z.enum(['key', 'entra', 'none']).default('key'),
  /**
   * `auth: entra`: the scope of the token (default `https://cognitiveservices.azure.com/.default`:
   * Azure OpenAI, Foundry). Azure ML serverless endpoints take `https://ml.azure.com/.default`.
   */
  tokenScope: z.string().min(1).optional(),
  /** Budget of one attempt until the response headers arrive (the SDK's per-try time-out). */
  timeoutInMs: z.number().int().positive().default(60_000),
  /**
   * Longest silence while a response body or stream is read (Envoy's stream idle time-out): a teacher
   * that stalls after its headers or mid-stream ends in a 504 (or the other arm) after this long.
   */
  idleTimeoutInMs: z.number().int().positive().default(30_000),
  /** Budget of a whole call: every attempt, the body, the whole stream (LiteLLM's `timeout`). */
  deadlineInMs: z.number().int().positive().default(300_000),
  /** Calls in flight to this model at once; beyond it calls are refused at once (503, retryable), 0 = no cap. */
  maxInFlight: z.number().int().min(0).default(0),
  maxRetries: z.number().int().min(0).max(10).default(2),
  /** Request defaults, e.g. a teacher's temperature. */
  defaults: z.record(z.string(), z.unknown()).default({}),
  /**
   * Consecutive failures that open this model's circuit, and how long it stays open. A call still
   * without an answer (or first event) after `slowCallInMs` counts as a failure at once, so a stalled
   * upstream opens the circuit within seconds instead of after its time-outs.
   */
  circuitBreaker: z
    .object({
      failureThreshold: z.number().int().min(1).default(5),
      cooldownInMs: z.number().int().min(0).default(5_000),
      slowCallInMs: z.number().int().positive().default(30_000),
    })
    .default({ failureThreshold: 5, cooldownInMs: 5_000, slowCallInMs: 30_000 }),
});

export type ModelSettings = z.infer<typeof modelSettingsSchema>;
