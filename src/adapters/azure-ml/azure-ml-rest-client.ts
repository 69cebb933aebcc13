import type { TokenCredential } from '@azure/identity';
import { isAbortError } from '../../core/errors.js';
import { abortableSleep, withRetry } from '../../core/retry.js';
import { retryAfterHeaderInMs } from '../shared/retry-after-header.js';

// Typed REST calls to one Azure ML workspace through Azure Resource Manager: data assets (with
// the temporary blob upload Azure ML hands out), fine-tuning jobs, model versions and serverless
// endpoints. `@azure/arm-machinelearning` 2.1.1 (the maintained SDK) covers workspaces, data and
// model versions but not the `FineTuning` job type (a preview api-version) nor the pending-upload
// call, and its bearer-token policy refuses non-TLS URLs, so the fake service on loopback could
// not stand in for ARM; a small fetch client keeps one code path for tests and production.
//
// Every call: a bearer token for ARM, a per-call time-out, and retries of throttling (429) and
// server errors (5xx) that honour `retry-after` (core/retry.ts). Long-running PUTs follow ARM's
// protocol: `Azure-AsyncOperation` (poll until `status` is terminal), else `Location` (poll
// until it stops answering 202).

export const ARM_SCOPE = 'https://management.azure.com/.default';

export interface AzureMLClientOptions {
  /** ARM id of the workspace: /subscriptions/…/resourceGroups/…/providers/Microsoft.MachineLearningServices/workspaces/… */
  workspaceId: string;
  credential: Pick<TokenCredential, 'getToken'>;
  /** Default https://management.azure.com (sovereign clouds and tests change it). */
  armEndpoint?: string;
  /** The FineTuning job type and serverless endpoints need a recent api-version. */
  apiVersion?: string;
  fetch?: typeof fetch;
  /** Budget of one HTTP call (default 60 s; blob uploads get at least 5 min). */
  timeoutInMs?: number;
  /** Attempts per call on 429 / 5xx / connection errors (default 5). */
  maxAttempts?: number;
  baseDelayInMs?: number;
  maxDelayInMs?: number;
  /** How often a long-running operation is polled when the service gives no retry-after (default 10 s). */
  lroPollIntervalInMs?: number;
}

/** An answer of the service that is not a success; carries the retry hint core/retry.ts reads. */
export class AzureMLError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly retryAfterInMs?: number,
  ) {
    super(message);
    this.name = 'AzureMLError';
  }
  get retryable(): boolean {
    return this.status === undefined || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export interface ArmResource<P> {
  id?: string;
  name?: string;
  location?: string;
  properties: P;
}

export interface AzureMLJobProperties {
  jobType: string;
  status?: string;
  displayName?: string;
  experimentName?: string;
  tags?: Record<string, string>;
  fineTuningDetails?: Record<string, unknown>;
  outputs?: Record<string, { jobOutputType?: string; assetName?: string; assetVersion?: string; uri?: string } | null>;
  /** Service-side details; failures put their reason here. */
  properties?: Record<string, string>;
  error?: { code?: string; message?: string } | null;
  creationContext?: { createdAt?: string };
}

export interface ServerlessEndpointProperties {
  authMode?: string;
  modelSettings?: { modelId: string };
  provisioningState?: string;
  inferenceEndpoint?: { uri: string };
}

const TERMINAL_LRO = new Set(['succeeded', 'failed', 'canceled', 'cancelled']);

export class AzureMLClient {
  readonly workspaceId: string;
  private readonly armEndpoint: string;
  private readonly apiVersion: string;
  private readonly fetch: typeof fetch;
  private readonly options: AzureMLClientOptions;

  constructor(options: AzureMLClientOptions) {
    if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.MachineLearningServices\/workspaces\/[^/]+$/i.test(options.workspaceId)) {
      throw new Error(`Not an Azure ML workspace resource id: '${options.workspaceId}'.`);
    }
    this.options = options;
    this.workspaceId = options.workspaceId;
    this.armEndpoint = (options.armEndpoint ?? 'https://management.azure.com').replace(/\/+$/, '');
    this.apiVersion = options.apiVersion ?? '2024-10-01-preview';
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  // --- workspace, data, jobs, models, endpoints ----------------------------------------------------

  getWorkspace(o: Signal = {}) {
    return this.arm<ArmResource<{ workspaceId?: string }>>('GET', '', undefined, o);
  }

  getDataVersion(name: string, version: string, o: Signal = {}) {
    return this.armOrUndefined<ArmResource<{ dataUri: string; dataType: string }>>(`/data/${enc(name)}/versions/${enc(version)}`, o);
  }

  /** A temporary SAS URL in the workspace's storage to upload a data asset's file to. */
  async startPendingUpload(name: string, version: string, o: Signal = {}): Promise<{ blobUri: string; sasUri: string }> {
    const r = await this.arm<{ blobReferenceForConsumption?: { blobUri?: string; credential?: { sasUri?: string } } }>(
      'POST',
      `/data/${enc(name)}/versions/${enc(version)}/startPendingUpload`,
      { pendingUploadType: 'TemporaryBlobReference' },
      o,
    );
    const ref = r.blobReferenceForConsumption;
    if (!ref?.blobUri || !ref.credential?.sasUri) throw new AzureMLError('startPendingUpload answered without a blob reference.', 200, 'InvalidResponse');
    return { blobUri: ref.blobUri, sasUri: ref.credential.sasUri };
  }

  async uploadBlob(sasUri: string, body: string, o: Signal = {}): Promise<void> {
    await this.send('PUT', sasUri, body, { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'application/jsonl' }, o, Math.max(300_000, this.options.timeoutInMs ?? 60_000), false);
  }

  createDataVersion(name: string, version: string, dataUri: string, tags: Record<string, string>, o: Signal = {}) {
    return this.arm<ArmResource<unknown>>('PUT', `/data/${enc(name)}/versions/${enc(version)}`, { properties: { dataType: 'uri_file', dataUri, tags } }, o);
  }

  getJob(name: string, o: Signal = {}) {
    return this.armOrUndefined<ArmResource<AzureMLJobProperties>>(`/jobs/${enc(name)}`, o);
  }

  createJob(name: string, properties: AzureMLJobProperties, o: Signal = {}) {
    return this.arm<ArmResource<AzureMLJobProperties>>('PUT', `/jobs/${enc(name)}`, { properties }, o);
  }

  getModelVersion(name: string, version: string, o: Signal = {}) {
    return this.armOrUndefined<ArmResource<Record<string, unknown>>>(`/models/${enc(name)}/versions/${enc(version)}`, o);
  }

  createModelVersion(name: string, version: string, properties: Record<string, unknown>, o: Signal = {}) {
    return this.arm<ArmResource<Record<string, unknown>>>('PUT', `/models/${enc(name)}/versions/${enc(version)}`, { properties }, o);
  }

  getServerlessEndpoint(name: string, o: Signal = {}) {
    return this.armOrUndefined<ArmResource<ServerlessEndpointProperties>>(`/serverlessEndpoints/${enc(name)}`, o);
  }

  /** Creates (or updates) a serverless endpoint and waits for the long-running operation. */
  async createServerlessEndpoint(name: string, body: { location: string; properties: ServerlessEndpointProperties }, o: Signal = {}) {
    const path = `/serverlessEndpoints/${enc(name)}`;
    const res = await this.send('PUT', this.url(path), JSON.stringify({ ...body, sku: { name: 'Consumption' } }), { 'content-type': 'application/json' }, o);
    await this.waitForOperation(res, o);
    const endpoint = await this.arm<ArmResource<ServerlessEndpointProperties>>('GET', path, undefined, o);
    const state = endpoint.properties.provisioningState;
    if (state && state.toLowerCase() !== 'succeeded') throw new AzureMLError(`Serverless endpoint ${name} is ${state}.`, 200, 'ProvisioningFailed');
    return endpoint;
  }

  // --- ARM plumbing -------------------------------------------------------------------------------

  private url(path: string): string {
    return `${this.armEndpoint}${this.workspaceId}${path}?api-version=${this.apiVersion}`;
  }

  private async arm<T>(method: string, path: string, body: unknown, o: Signal): Promise<T> {
    const res = await this.send(method, this.url(path), body === undefined ? undefined : JSON.stringify(body), body === undefined ? {} : { 'content-type': 'application/json' }, o);
    return (await res.json()) as T;
  }

  private async armOrUndefined<T>(path: string, o: Signal): Promise<T | undefined> {
    try {
      return await this.arm<T>('GET', path, undefined, o);
    } catch (err) {
      if (err instanceof AzureMLError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Polls an ARM long-running operation started by `res` until it ends; throws when it failed. */
  private async waitForOperation(res: Response, o: Signal): Promise<void> {
    const asyncOp = res.headers.get('azure-asyncoperation');
    const location = res.headers.get('location');
    if (!asyncOp && !location) return;
    let hint = retryAfterHeaderInMs(res.headers, Date.now());
    for (;;) {
      await abortableSleep(hint ?? this.options.lroPollIntervalInMs ?? 10_000, o.abortSignal);
      const poll = await this.send('GET', (asyncOp ?? location)!, undefined, {}, o);
      hint = retryAfterHeaderInMs(poll.headers, Date.now());
      if (asyncOp) {
        const op = (await poll.json()) as { status?: string; error?: { code?: string; message?: string } };
        const status = (op.status ?? '').toLowerCase();
        if (!TERMINAL_LRO.has(status)) continue;
        if (status !== 'succeeded') throw new AzureMLError(`Operation ${op.status}: ${op.error?.message ?? 'no reason given'}`, 200, op.error?.code ?? 'OperationFailed');
        return;
      }
      if (poll.status !== 202) return;
    }
  }

  /** One call with its token, time-out and retries; resolves only on 2xx. */
  private async send(method: string, url: string, body: string | undefined, headers: Record<string, string>, o: Signal, timeoutInMs = this.options.timeoutInMs ?? 60_000, authorize = true): Promise<Response> {
    return withRetry(
      async () => {
        const auth: Record<string, string> = {};
        if (authorize) {
          const token = await this.options.credential.getToken(ARM_SCOPE, o.abortSignal ? { abortSignal: o.abortSignal } : {});
          if (!token) throw new AzureMLError('No token for Azure Resource Manager.', 401, 'NoToken');
          auth.authorization = `Bearer ${token.token}`;
        }
        const signal = o.abortSignal ? AbortSignal.any([o.abortSignal, AbortSignal.timeout(timeoutInMs)]) : AbortSignal.timeout(timeoutInMs);
        let res: Response;
        try {
          res = await this.fetch(url, { method, headers: { ...headers, ...auth }, ...(body !== undefined ? { body } : {}), signal });
        } catch (err) {
          if (o.abortSignal?.aborted) throw o.abortSignal.reason ?? err;
          throw new AzureMLError(`${method} ${redact(url)} failed: ${isAbortError(err) ? `no answer within ${timeoutInMs} ms` : (err as Error).message}`, undefined, 'ConnectionError');
        }
        if (res.ok) return res;
        throw await errorOf(res, method, url);
      },
      {
        maxAttempts: this.options.maxAttempts ?? 5,
        baseDelayInMs: this.options.baseDelayInMs ?? 1_000,
        maxDelayInMs: this.options.maxDelayInMs ?? 60_000,
        isRetryable: (err) => err instanceof AzureMLError && err.retryable,
        ...(o.abortSignal ? { abortSignal: o.abortSignal } : {}),
      },
    );
  }
}

type Signal = { abortSignal?: AbortSignal };

const enc = encodeURIComponent;

/** URLs may carry a SAS token: never put it in a message. */
const redact = (url: string) => url.replace(/\?.*$/, '');

async function errorOf(res: Response, method: string, url: string): Promise<AzureMLError> {
  const text = await res.text().catch(() => '');
  let code: string | undefined;
  let message = text.slice(0, 500);
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e) {
      code = e.code;
      message = e.message ?? message;
    }
  } catch {
    // not JSON: keep the text
  }
  const retryAfter = retryAfterHeaderInMs(res.headers, Date.now());
  return new AzureMLError(`${method} ${redact(url)} answered ${res.status}${code ? ` ${code}` : ''}: ${message}`, res.status, code, retryAfter);
}
