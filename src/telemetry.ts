import type { Attributes, AttributeValue, Counter, Histogram } from '@opentelemetry/api';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TokenCredential } from '@azure/identity';
import type { Arm } from './core/chat/chat-model-types.js';
import { DistilleryError } from './core/errors.js';
import { pairAgreement, type AgreementTask } from './core/pairs/pair-agreement.js';
import { pairProvenance } from './core/pairs/pair-provenance.js';
import type { PairRecord } from './core/pairs/pair-record.js';

// OpenTelemetry traces and metrics for the gateway and the job runner.
//
// - With APPLICATIONINSIGHTS_CONNECTION_STRING: the Azure Monitor distro (useAzureMonitor), loaded
//   lazily so a process without it pays nothing at cold start. App Insights has local auth off in
//   infra/, so the exporter authenticates with the identity named by
//   APPLICATIONINSIGHTS_AUTHENTICATION_STRING (the same setting the Functions host reads).
// - Without it, but with span processors / metric readers passed in (tests, a local OTLP exporter):
//   plain SDK providers.
// - Otherwise nothing is registered and every helper is a no-op.
//
// Every OpenTelemetry package (the API included) is imported by startTelemetry, never at module
// load: the HTTP path imports this file, and a cold start without telemetry must not pay ~250 ms
// of SDK modules for helpers that are no-ops (issue 19).
//
// No prompt or completion text may reach telemetry: attributes go through an allow-list of keys
// whose values are identifiers, counts and durations; anything else is dropped, and errors record
// only their code, never their message (upstream errors can quote the prompt).

export interface TelemetrySettings {
  APPLICATIONINSIGHTS_CONNECTION_STRING?: string | undefined;
  /** `Authorization=AAD;ClientId=<user-assigned identity client id>` (ClientId omitted: system-assigned). */
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING?: string | undefined;
}

export interface StartTelemetryOptions {
  /** Extra span processors (tests pass a SimpleSpanProcessor over an InMemorySpanExporter). */
  spanProcessors?: SpanProcessor[];
  /** Extra metric readers. */
  metricReaders?: MetricReader[];
  /** Credential for Entra ingestion; by default derived from APPLICATIONINSIGHTS_AUTHENTICATION_STRING. */
  credential?: TokenCredential;
  /** service.name (App Insights cloud role name). */
  serviceName?: string;
  /**
   * Azure Monitor sampling. The distro's default rate-limits to 5 traces per second; set
   * `tracesPerSecond: 0` to sample by `samplingRatio` (0..1) instead.
   */
  samplingRatio?: number;
  tracesPerSecond?: number;
}

export interface Telemetry {
  /** Where telemetry goes: Application Insights, only the given processors/readers, or nowhere. */
  readonly mode: 'azure-monitor' | 'local' | 'none';
  /** Flushes pending spans and metrics, then unregisters everything (idempotent). */
  shutdown(): Promise<void>;
  /** Exports pending spans and metrics now (metric readers collect on flush). */
  flush(): Promise<void>;
}

/** Span names: fixed, never built from request data. Job steps are `distillery.job.<state>`. */
export type SpanName =
  | 'distillery.request'
  | 'distillery.route'
  | 'distillery.teacher'
  | 'distillery.student'
  | 'distillery.store.write'
  | `distillery.job.${string}`;

const SPAN_NAME = /^distillery\.(request|route|teacher|student|store\.write|job\.[a-z][a-z0-9_]{0,39})$/;

type ValueKind = 'id' | 'number' | 'boolean' | 'ids';

/**
 * The only attribute keys telemetry may carry, with the kind of value each takes. Free text
 * (prompts, completions, error messages, user ids from the request) has no key here.
 */
export const ALLOWED_ATTRIBUTES = {
  'distillery.task': 'id',
  'distillery.tenant': 'id',
  'distillery.arm': 'id',
  'distillery.role': 'id',
  'distillery.policy': 'id',
  'distillery.reason': 'id',
  'distillery.stream': 'boolean',
  'distillery.model': 'id',
  'distillery.model.version': 'number',
  'distillery.latency_ms': 'number',
  'distillery.cost_usd': 'number',
  'distillery.store': 'id',
  'distillery.store.operation': 'id',
  'distillery.records': 'number',
  'distillery.job.id': 'id',
  'distillery.job.kind': 'id',
  'distillery.job.state': 'id',
  'distillery.job.trigger': 'id',
  'distillery.job.outcome': 'id',
  'distillery.job.delivery_count': 'number',
  'distillery.error.code': 'id',
  'distillery.attributes_dropped': 'number',
  'gen_ai.operation.name': 'id',
  'gen_ai.request.model': 'id',
  'gen_ai.response.model': 'id',
  'gen_ai.usage.input_tokens': 'number',
  'gen_ai.usage.output_tokens': 'number',
  'gen_ai.response.finish_reasons': 'ids',
  'http.response.status_code': 'number',
  'error.type': 'id',
} as const satisfies Record<string, ValueKind>;

export type TelemetryAttributeKey = keyof typeof ALLOWED_ATTRIBUTES;
export type TelemetryAttributes = Partial<Record<TelemetryAttributeKey, string | number | boolean | readonly string[] | undefined>>;

// Identifiers: task names, model names, reasons like `weighted:student@12%`. Short, one line, no
// spaces, so a sentence of prompt text cannot pass even under an allowed key.
const ID = /^[\w.:@/%+=,#-]{1,128}$/;

function allowed(kind: ValueKind, value: unknown): value is AttributeValue {
  switch (kind) {
    case 'id':
      return typeof value === 'string' && ID.test(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'ids':
      return Array.isArray(value) && value.length <= 16 && value.every((v) => typeof v === 'string' && ID.test(v));
  }
}

/**
 * Keeps only allow-listed keys whose values have the allowed shape; counts what it dropped.
 * Exported so callers and tests can see exactly what would be recorded.
 */
export function sanitizeAttributes(attributes: Readonly<Record<string, unknown>> | undefined): { attributes: Attributes; dropped: number } {
  const out: Attributes = {};
  let dropped = 0;
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === undefined) continue;
    const kind = (ALLOWED_ATTRIBUTES as Record<string, ValueKind>)[key];
    if (kind && allowed(kind, value)) out[key] = Array.isArray(value) ? [...(value as string[])] : (value as AttributeValue);
    else dropped++;
  }
  return { attributes: out, dropped };
}

interface Instruments {
  requests: Counter;
  duration: Histogram;
  cost: Counter;
  agreement: Histogram;
}

/** The OpenTelemetry API, loaded by startTelemetry (see the top of this file). */
type OtelApi = typeof import('@opentelemetry/api');

interface Active {
  telemetry: Telemetry;
  instruments: Instruments;
  api: OtelApi;
}

let active: Active | undefined;
export const TRACER_NAME = 'distillery';

/** What failed, for `error.type`: the typed error's code, else the error's name (never its message). */
export const errorType = (err: unknown) => (err instanceof DistilleryError ? err.code : err instanceof Error ? err.name : 'unknown');

/** The OpenTelemetry API while telemetry records spans (telemetry-ports.ts), else undefined. */
export function tracingApi(): OtelApi | undefined {
  return active && active.telemetry.mode !== 'none' ? active.api : undefined;
}

function createInstruments(api: OtelApi): Instruments {
  const meter = api.metrics.getMeter(TRACER_NAME);
  return {
    requests: meter.createCounter('distillery.requests', { description: 'Chat requests served, by task and arm.', unit: '{request}' }),
    duration: meter.createHistogram('distillery.request.duration', {
      description: 'Latency of a served chat request, by task and arm.',
      unit: 'ms',
      advice: { explicitBucketBoundaries: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000] },
    }),
    cost: meter.createCounter('distillery.cost', { description: 'Upstream cost of served requests, by task and arm.', unit: 'USD' }),
    agreement: meter.createHistogram('distillery.agreement', {
      description: 'Student quality: student-teacher agreement (0..1) of random-shadow pairs, by task.',
      unit: '1',
      advice: { explicitBucketBoundaries: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1] },
    }),
  };
}

const invalid = (message: string, code: string, param: string | null = null) =>
  new DistilleryError(message, { status: 500, type: 'server_error', code, param });

/** Parses `Authorization=AAD;ClientId=...` (the Functions host's format). */
export function parseAuthenticationString(value: string): { clientId?: string } {
  const parts = new Map(
    value
      .split(';')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const i = p.indexOf('=');
        return [p.slice(0, i < 0 ? p.length : i).trim().toLowerCase(), i < 0 ? '' : p.slice(i + 1).trim()] as const;
      }),
  );
  if (parts.get('authorization')?.toUpperCase() !== 'AAD') {
    throw invalid('APPLICATIONINSIGHTS_AUTHENTICATION_STRING must contain Authorization=AAD.', 'invalid_telemetry_settings', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING');
  }
  const clientId = parts.get('clientid');
  return clientId ? { clientId } : {};
}

/**
 * Starts telemetry once per process. Pass `config.env` (or anything holding the two settings).
 * Throws a DistilleryError when already started or when the settings are malformed.
 */
export async function startTelemetry(settings: TelemetrySettings, options: StartTelemetryOptions = {}): Promise<Telemetry> {
  if (active) throw invalid('Telemetry is already started; shut it down first.', 'telemetry_already_started');
  const connectionString = settings.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  const authentication = settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING?.trim();
  const spanProcessors = options.spanProcessors ?? [];
  const metricReaders = options.metricReaders ?? [];
  const [api, { resourceFromAttributes }] = await Promise.all([import('@opentelemetry/api'), import('@opentelemetry/resources')]);
  const resource = resourceFromAttributes({ 'service.name': options.serviceName ?? 'distillery' });

  let telemetry: Telemetry;
  if (connectionString) {
    if (!/(^|;)\s*InstrumentationKey=/i.test(connectionString)) {
      throw invalid('APPLICATIONINSIGHTS_CONNECTION_STRING has no InstrumentationKey.', 'invalid_telemetry_settings', 'APPLICATIONINSIGHTS_CONNECTION_STRING');
    }
    let credential = options.credential;
    if (!credential && authentication) {
      const { clientId } = parseAuthenticationString(authentication);
      const { ManagedIdentityCredential } = await import('@azure/identity');
      credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
    }
    const monitor = await import('@azure/monitor-opentelemetry');
    monitor.useAzureMonitor({
      azureMonitorExporterOptions: { connectionString, ...(credential ? { credential } : {}) },
      resource,
      spanProcessors,
      metricReaders,
      enableLiveMetrics: false,
      ...(options.samplingRatio === undefined ? {} : { samplingRatio: options.samplingRatio }),
      ...(options.tracesPerSecond === undefined ? {} : { tracesPerSecond: options.tracesPerSecond }),
    });
    telemetry = {
      mode: 'azure-monitor',
      flush: () => flushGlobalProviders(api),
      shutdown: once(async () => {
        try {
          await monitor.shutdownAzureMonitor();
        } finally {
          unregister(api);
        }
      }),
    };
  } else if (spanProcessors.length || metricReaders.length) {
    const [{ AsyncLocalStorageContextManager }, { BasicTracerProvider }, { MeterProvider }] = await Promise.all([
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/sdk-metrics'),
    ]);
    const contextManager = new AsyncLocalStorageContextManager().enable();
    api.context.setGlobalContextManager(contextManager);
    const tracerProvider = new BasicTracerProvider({ resource, spanProcessors });
    api.trace.setGlobalTracerProvider(tracerProvider);
    const meterProvider = new MeterProvider({ resource, readers: metricReaders });
    api.metrics.setGlobalMeterProvider(meterProvider);
    telemetry = {
      mode: 'local',
      flush: async () => {
        await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
      },
      shutdown: once(async () => {
        try {
          await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
        } finally {
          unregister(api);
        }
      }),
    };
  } else {
    telemetry = { mode: 'none', flush: async () => undefined, shutdown: once(async () => unregister(api)) };
  }
  // Instruments are made after the meter provider is registered: the metrics API, unlike the
  // trace API, has no proxy that would forward instruments created earlier.
  active = { telemetry, instruments: createInstruments(api), api };
  return telemetry;
}

// The registered providers, whoever registered them (the distro's NodeSDK keeps its own private).
async function flushGlobalProviders({ trace, metrics }: OtelApi): Promise<void> {
  const tracerProvider = trace.getTracerProvider() as unknown as { getDelegate?: () => unknown };
  const delegate = (tracerProvider.getDelegate?.() ?? tracerProvider) as { forceFlush?: () => Promise<void> };
  const meterProvider = metrics.getMeterProvider() as { forceFlush?: () => Promise<void> };
  await Promise.all([delegate.forceFlush?.(), meterProvider.forceFlush?.()]);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

function unregister({ trace, metrics, context, propagation }: OtelApi): void {
  trace.disable();
  metrics.disable();
  context.disable();
  propagation.disable();
  active = undefined;
}

/** What a span body may do: add allow-listed attributes, nothing else. */
export interface SpanScope {
  setAttributes(attributes: TelemetryAttributes): void;
}

const NOOP_SCOPE: SpanScope = { setAttributes: () => undefined };

/**
 * Runs `fn` inside a span (a child of the active one). A throw marks the span as an error with
 * `error.type` = the DistilleryError code (or the error's name) and rethrows; the message is not
 * recorded. Without telemetry it just runs `fn`.
 */
export async function withSpan<T>(name: SpanName, attributes: TelemetryAttributes, fn: (span: SpanScope) => Promise<T> | T): Promise<T> {
  if (!SPAN_NAME.test(name)) throw invalid(`Invalid span name '${String(name).slice(0, 64)}'.`, 'invalid_span_name');
  // Nothing records spans: skip the attribute guard and the span objects altogether.
  if (!active || active.telemetry.mode === 'none') return fn(NOOP_SCOPE);
  const { trace, SpanStatusCode } = active.api;
  const initial = sanitizeAttributes(attributes);
  let dropped = initial.dropped;
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes: initial.attributes }, async (span) => {
    const scope: SpanScope = {
      setAttributes(more) {
        const clean = sanitizeAttributes(more);
        dropped += clean.dropped;
        span.setAttributes(clean.attributes);
      },
    };
    try {
      const result = await fn(scope);
      span.setStatus({ code: SpanStatusCode.OK });
      return result;
    } catch (err) {
      const clean = sanitizeAttributes({ 'error.type': errorType(err) });
      span.setAttributes(clean.attributes);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      if (dropped) span.setAttribute('distillery.attributes_dropped', dropped);
      span.end();
    }
  });
}

export interface RequestMeasurement {
  task: string;
  arm: Arm;
  latencyInMs: number;
  /** Upstream cost in USD, when the pricing table knows the model. */
  costUsd?: number;
}

function metricAttributes(task: string, arm?: Arm): Attributes {
  const { attributes, dropped } = sanitizeAttributes({ 'distillery.task': task, ...(arm ? { 'distillery.arm': arm } : {}) });
  if (dropped) throw invalid('Metric attributes must be a task name and an arm.', 'invalid_metric_attributes', 'task');
  return attributes;
}

/** One served request: counts it, records its latency and adds its cost (per task and arm). */
export function recordRequest(measurement: RequestMeasurement): void {
  const { task, arm, latencyInMs, costUsd } = measurement;
  if (arm !== 'teacher' && arm !== 'student') throw invalid(`Unknown arm '${String(arm)}'.`, 'invalid_metric_value', 'arm');
  if (!Number.isFinite(latencyInMs) || latencyInMs < 0) throw invalid('latencyInMs must be a finite number ≥ 0.', 'invalid_metric_value', 'latencyInMs');
  if (costUsd !== undefined && (!Number.isFinite(costUsd) || costUsd < 0)) {
    throw invalid('costUsd must be a finite number ≥ 0.', 'invalid_metric_value', 'costUsd');
  }
  const attrs = metricAttributes(task, arm);
  if (!active) return;
  active.instruments.requests.add(1, attrs);
  active.instruments.duration.record(latencyInMs, attrs);
  if (costUsd !== undefined) active.instruments.cost.add(costUsd, attrs);
}

/** Agreement of one compared pair (1 = same answer), or an aggregate in 0..1, for a task. */
export function recordAgreement(task: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw invalid('Agreement must be within 0..1.', 'invalid_metric_value', 'value');
  const attrs = metricAttributes(task);
  if (!active) return;
  active.instruments.agreement.record(value, attrs);
}

/**
 * The metrics of one pair handed to the writer: the served arm's request, latency and cost; and
 * pairAgreement for pairs of the random shadow sample only, so `distillery.agreement` is the
 * student-quality estimate of the report (escalations, the student's hardest prompts, would drag
 * it with the cascade threshold). Without the task, pairs with labels are judged as labels and
 * others as normalised text.
 */
export function recordPairMetrics(pair: PairRecord, task?: AgreementTask): void {
  // Nothing records metrics: no attribute checks, no agreement verdict, on every served request.
  if (!active) return;
  const served = pair.servedArm === 'teacher' ? pair.teacher : pair.student;
  if (served && !served.error) {
    recordRequest({ task: pair.task, arm: pair.servedArm, latencyInMs: served.latencyInMs, ...(served.costUsd !== undefined ? { costUsd: served.costUsd } : {}) });
  }
  if (!pairProvenance(pair).randomShadow) return;
  const verdict = pairAgreement(pair, task);
  if (verdict !== 'not_comparable') recordAgreement(pair.task, verdict === 'agree' ? 1 : 0);
}

// --- Cosmos DB request units (adapters/cosmos/request-charge.ts, docs/capacity.md) -------------

let requestUnits: { owner: Active; counter: Counter } | undefined;

/**
 * The request charge of one Cosmos DB operation, as `distillery.cosmos.request_units` by container
 * (`distillery.store` = `cosmos.<container>`) and operation; an operation ending in `.estimated`
 * was charged from the documented size table (the service's figure was missing or a placeholder).
 */
export function recordCosmosRequestCharge(charge: { container: string; operation: string; requestUnits: number; estimated: boolean }): void {
  if (!active || !Number.isFinite(charge.requestUnits) || charge.requestUnits < 0) return;
  if (requestUnits?.owner !== active) {
    const counter = active.api.metrics.getMeter(TRACER_NAME).createCounter('distillery.cosmos.request_units', {
      description: 'Cosmos DB request units consumed, by container and operation (.estimated: from item size).',
      unit: '{RU}',
    });
    requestUnits = { owner: active, counter };
  }
  const { attributes } = sanitizeAttributes({
    'distillery.store': `cosmos.${charge.container}`,
    'distillery.store.operation': charge.estimated ? `${charge.operation}.estimated` : charge.operation,
  });
  requestUnits.counter.add(charge.requestUnits, attributes);
}
