import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { trace } from '@opentelemetry/api';
import { DataPointType, MetricReader, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpenAIModel } from '../../src/adapters/openai/create-openai-model.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { modelSettingsSchema } from '../../src/core/chat/model-settings.js';
import { DistilleryError } from '../../src/core/errors.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';
import {
  parseAuthenticationString,
  recordAgreement,
  recordRequest,
  sanitizeAttributes,
  startTelemetry,
  withSpan,
  type Telemetry,
} from '../../src/telemetry.js';
import { traceChatModel, tracePairStore } from '../../src/telemetry-ports.js';

// A prompt that must never reach telemetry, whatever key or path it is smuggled through.
const PROMPT = 'My card 4111 1111 1111 1111 was charged twice, please refund me';

class TestMetricReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

let running: Telemetry | undefined;
afterEach(async () => {
  await running?.shutdown();
  running = undefined;
});

async function metricsByName(reader: MetricReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  return new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
}

function serialize(spans: readonly ReadableSpan[]): string {
  return JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links })));
}

describe('telemetry without a connection string', () => {
  it('starts and stops cleanly, and every helper is a no-op', async () => {
    running = await startTelemetry({});
    expect(running.mode).toBe('none');
    const value = await withSpan('distillery.route', { 'distillery.task': 'intent' }, () => 42);
    expect(value).toBe(42);
    recordRequest({ task: 'intent', arm: 'student', latencyInMs: 3, costUsd: 0 });
    recordAgreement('intent', 1);
    await running.flush();
    await running.shutdown();
    await running.shutdown(); // idempotent
    running = undefined;
    // Stopped means restartable in the same process.
    running = await startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: '' });
    expect(running.mode).toBe('none');
  });

  it('refuses a second start and malformed settings with typed errors', async () => {
    running = await startTelemetry({});
    await expect(startTelemetry({})).rejects.toMatchObject({ code: 'telemetry_already_started' });
    await running.shutdown();
    running = undefined;
    await expect(startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: 'IngestionEndpoint=https://x/' })).rejects.toBeInstanceOf(DistilleryError);
    await expect(
      startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=k', APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=Key' }),
    ).rejects.toMatchObject({ code: 'invalid_telemetry_settings', param: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING' });
    // A failed start leaves nothing registered.
    running = await startTelemetry({});
    expect(running.mode).toBe('none');
  });

  it('parses the Functions host authentication string', () => {
    expect(parseAuthenticationString('ClientId=1b2c;Authorization=AAD')).toEqual({ clientId: '1b2c' });
    expect(parseAuthenticationString('Authorization=AAD')).toEqual({});
    expect(() => parseAuthenticationString('ClientId=1b2c')).toThrow(DistilleryError);
  });
});

describe('telemetry with an in-memory exporter', () => {
  it('records nested spans with allow-listed attributes only', async () => {
    const exporter = new InMemorySpanExporter();
    running = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
    expect(running.mode).toBe('local');

    const answer = await withSpan('distillery.request', { 'distillery.task': 'intent', 'distillery.tenant': 'acme', 'distillery.stream': false }, async (request) => {
      await withSpan('distillery.route', { 'distillery.policy': 'weighted', 'distillery.reason': 'weighted:student@10%' }, async (route) => {
        route.setAttributes({ 'distillery.arm': 'student' });
      });
      const text = await withSpan(
        'distillery.teacher',
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o',
          // Smuggling attempts: an unknown key, and free text under an allowed key.
          ...({ 'gen_ai.prompt': PROMPT, 'distillery.reason': PROMPT } as Record<string, string>),
        },
        async (span) => {
          await new Promise((r) => setTimeout(r, 5)); // context must survive an await
          span.setAttributes({ 'gen_ai.usage.input_tokens': 31, 'gen_ai.usage.output_tokens': 7, 'gen_ai.response.finish_reasons': ['stop'] });
          span.setAttributes({ ...({ 'gen_ai.completion': 'refund issued' } as Record<string, string>) });
          return 'refund issued';
        },
      );
      await withSpan('distillery.store.write', { 'distillery.store': 'pairs', 'distillery.records': 1 }, () => undefined);
      request.setAttributes({ 'distillery.latency_ms': 12.5, 'http.response.status_code': 200 });
      return text;
    });
    expect(answer).toBe('refund issued');

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['distillery.route', 'distillery.teacher', 'distillery.store.write', 'distillery.request']);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const root = byName.get('distillery.request')!;
    expect(root.parentSpanContext).toBeUndefined();
    for (const child of ['distillery.route', 'distillery.teacher', 'distillery.store.write']) {
      expect(byName.get(child)!.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
      expect(byName.get(child)!.spanContext().traceId).toBe(root.spanContext().traceId);
    }
    expect(root.attributes).toEqual({
      'distillery.task': 'intent',
      'distillery.tenant': 'acme',
      'distillery.stream': false,
      'distillery.latency_ms': 12.5,
      'http.response.status_code': 200,
    });
    expect(byName.get('distillery.route')!.attributes).toEqual({
      'distillery.policy': 'weighted',
      'distillery.reason': 'weighted:student@10%',
      'distillery.arm': 'student',
    });
    expect(byName.get('distillery.teacher')!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 31,
      'gen_ai.usage.output_tokens': 7,
      'gen_ai.response.finish_reasons': ['stop'],
      'distillery.attributes_dropped': 3,
    });
    expect(byName.get('distillery.teacher')!.status.code).toBe(1); // OK
    const all = serialize(spans);
    expect(all).not.toContain('4111');
    expect(all).not.toContain('refund');
  });

  it('marks a failed span with the error code only, and rethrows the same error', async () => {
    const exporter = new InMemorySpanExporter();
    running = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const failure = new DistilleryError(`Upstream rejected: "${PROMPT}"`, { status: 502, type: 'upstream_error', code: 'upstream_bad_request' });
    await expect(withSpan('distillery.student', { 'distillery.model': 'intent@3' }, () => Promise.reject(failure))).rejects.toBe(failure);
    await expect(withSpan('distillery.job.training', { 'distillery.job.id': 'job_1' }, () => { throw new RangeError(PROMPT); })).rejects.toBeInstanceOf(RangeError);

    const [student, training] = exporter.getFinishedSpans();
    expect(student!.status.code).toBe(2); // ERROR
    expect(student!.attributes['error.type']).toBe('upstream_bad_request');
    expect(training!.name).toBe('distillery.job.training');
    expect(training!.attributes['error.type']).toBe('RangeError');
    expect(serialize(exporter.getFinishedSpans())).not.toContain('4111');
  });

  it('rejects span names that are not fixed identifiers', async () => {
    running = await startTelemetry({});
    await expect(withSpan(`distillery.job.${PROMPT}` as 'distillery.job.x', {}, () => 1)).rejects.toMatchObject({ code: 'invalid_span_name' });
    await expect(withSpan('http GET' as 'distillery.route', {}, () => 1)).rejects.toBeInstanceOf(DistilleryError);
  });

  it('records requests per arm, latency, cost and agreement', async () => {
    const reader = new TestMetricReader();
    running = await startTelemetry({}, { metricReaders: [reader] });
    recordRequest({ task: 'intent', arm: 'teacher', latencyInMs: 800, costUsd: 0.002 });
    recordRequest({ task: 'intent', arm: 'teacher', latencyInMs: 1200, costUsd: 0.003 });
    recordRequest({ task: 'intent', arm: 'student', latencyInMs: 4 });
    recordAgreement('intent', 1);
    recordAgreement('intent', 0);
    recordAgreement('intent', 1);

    const byName = await metricsByName(reader);
    const requests = byName.get('distillery.requests')!;
    const perArm = Object.fromEntries(requests.dataPoints.map((p) => [String(p.attributes['distillery.arm']), p.value]));
    expect(perArm).toEqual({ teacher: 2, student: 1 });
    expect(requests.dataPoints.every((p) => p.attributes['distillery.task'] === 'intent')).toBe(true);

    const duration = byName.get('distillery.request.duration') as HistogramMetricData;
    expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration.descriptor.unit).toBe('ms');
    const teacher = duration.dataPoints.find((p) => p.attributes['distillery.arm'] === 'teacher')!;
    expect(teacher.value.count).toBe(2);
    expect(teacher.value.sum).toBe(2000);

    const cost = byName.get('distillery.cost')!;
    expect(cost.dataPoints).toHaveLength(1); // the student had no cost to add
    expect(cost.dataPoints[0]!.value as number).toBeCloseTo(0.005, 10);

    const agreement = byName.get('distillery.agreement') as HistogramMetricData;
    expect(agreement.dataPoints[0]!.value.count).toBe(3);
    expect(agreement.dataPoints[0]!.value.sum).toBe(2);
    expect(agreement.dataPoints[0]!.attributes).toEqual({ 'distillery.task': 'intent' });
  });

  it('rejects out-of-range measurements with typed errors before recording anything', async () => {
    const reader = new TestMetricReader();
    running = await startTelemetry({}, { metricReaders: [reader] });
    expect(() => recordAgreement('intent', 1.5)).toThrow(DistilleryError);
    expect(() => recordAgreement('intent', Number.NaN)).toThrow(DistilleryError);
    expect(() => recordRequest({ task: 'intent', arm: 'student', latencyInMs: -1 })).toThrow(DistilleryError);
    expect(() => recordRequest({ task: 'intent', arm: 'oracle' as 'student', latencyInMs: 1 })).toThrow(DistilleryError);
    expect(() => recordRequest({ task: PROMPT, arm: 'student', latencyInMs: 1 })).toThrow(DistilleryError);
    const byName = await metricsByName(reader);
    expect(byName.get('distillery.requests')?.dataPoints ?? []).toHaveLength(0);
    expect(byName.get('distillery.agreement')?.dataPoints ?? []).toHaveLength(0);
  });

  it('unregisters its providers on shutdown', async () => {
    const exporter = new InMemorySpanExporter();
    running = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
    await running.shutdown();
    running = undefined;
    await withSpan('distillery.route', {}, () => undefined);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});

describe('sanitizeAttributes', () => {
  it('keeps identifiers, counts and flags under allowed keys and drops everything else', () => {
    const { attributes, dropped } = sanitizeAttributes({
      'distillery.task': 'intent',
      'distillery.records': 3,
      'distillery.stream': true,
      'distillery.records_bad': 1,
      'distillery.tenant': 'a'.repeat(129),
      'distillery.model': 'has space',
      'distillery.latency_ms': Number.POSITIVE_INFINITY,
      'gen_ai.response.finish_reasons': ['stop', 'length'],
      'distillery.arm': 7,
      skipped: undefined,
    });
    expect(attributes).toEqual({ 'distillery.task': 'intent', 'distillery.records': 3, 'distillery.stream': true, 'gen_ai.response.finish_reasons': ['stop', 'length'] });
    expect(dropped).toBe(5);
  });
});

describe('telemetry with Application Insights', () => {
  // A local ingestion endpoint stands in for Breeze: the real distro and exporter send to it. The
  // exporter speaks only HTTPS and sends bearer tokens only over TLS, so the stand-in serves TLS
  // with a throwaway self-signed certificate made for this test.
  function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
    const dir = mkdtempSync(path.join(tmpdir(), 'distillery-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      return { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('exports spans and metrics through useAzureMonitor with an Entra token and no prompt text', async () => {
    const received: { path: string; authorization?: string; body: string }[] = [];
    const server: Server = createServer(selfSignedCertificate(), (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        received.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json' });
        const items = body.trim().startsWith('[') ? (JSON.parse(body) as unknown[]).length : body.split('\n').filter(Boolean).length;
        res.end(JSON.stringify({ itemsReceived: items, itemsAccepted: items, errors: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const names = ['APPLICATIONINSIGHTS_STATSBEAT_DISABLED', 'APPLICATION_INSIGHTS_NO_STATSBEAT', 'NODE_TLS_REJECT_UNAUTHORIZED'] as const;
    const previous = names.map((n) => [n, process.env[n]] as const);
    // Statsbeat would call Microsoft's endpoints; this machine has no route there.
    process.env.APPLICATIONINSIGHTS_STATSBEAT_DISABLED = 'true';
    process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';
    // Trust the throwaway certificate for this test only.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    let tokenRequests = 0;
    const credential: TokenCredential = {
      async getToken(): Promise<AccessToken> {
        tokenRequests++;
        return { token: 'test-entra-token', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    try {
      running = await startTelemetry(
        {
          APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://127.0.0.1:${port}/`,
        },
        // Every span, so the assertion does not depend on the rate limiter's first second.
        { credential, tracesPerSecond: 0, samplingRatio: 1 },
      );
      expect(running.mode).toBe('azure-monitor');
      await withSpan('distillery.request', { 'distillery.task': 'intent', ...({ 'gen_ai.prompt': PROMPT } as Record<string, string>) }, () =>
        withSpan('distillery.student', { 'distillery.arm': 'student' }, () => 'ok'),
      );
      recordRequest({ task: 'intent', arm: 'student', latencyInMs: 4, costUsd: 0.0001 });
      recordAgreement('intent', 1);
      await running.flush();
      await running.shutdown();
      running = undefined;
    } finally {
      server.close();
      for (const [n, v] of previous) {
        if (v === undefined) delete process.env[n];
        else process.env[n] = v;
      }
    }
    const all = received.map((r) => r.body).join('\n');
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.path.includes('/track'))).toBe(true);
    expect(tokenRequests).toBeGreaterThan(0);
    expect(received.every((r) => r.authorization === 'Bearer test-entra-token')).toBe(true);
    expect(all).toContain('distillery.request');
    expect(all).toContain('distillery.student');
    expect(all).toContain('distillery.requests');
    expect(all).toContain('distillery.agreement');
    expect(all).not.toContain('4111');
  });
});

describe('port wrappers', () => {
  let fake: FakeOpenAIServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('traceChatModel makes teacher/student spans over a real OpenAI-compatible server, without the text', async () => {
    // The fake server echoes the prompt back: the completion carries the prompt text too.
    fake = await startFakeOpenAIServer({ model: 'gpt-4o', answer: (req) => ({ text: `echo: ${req.body.messages.at(-1).content}`, promptTokens: 12, completionTokens: 9 }) });
    const model = createOpenAIModel('gpt-4o', modelSettingsSchema.parse({ provider: 'openai', baseURL: fake.baseURL, auth: 'none' }), { env: {} });
    const exporter = new InMemorySpanExporter();
    running = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const teacher = traceChatModel(model, 'teacher');
    expect(teacher.id).toBe('gpt-4o');

    const result = await withSpan('distillery.request', { 'distillery.task': 'support' }, () =>
      teacher.generate({ messages: [{ role: 'user', content: PROMPT }] }),
    );
    expect(result.text).toBe(`echo: ${PROMPT}`);
    let streamed = '';
    for await (const event of teacher.stream({ messages: [{ role: 'user', content: PROMPT }] })) if (event.type === 'delta') streamed += event.text;
    expect(streamed).toBe(`echo: ${PROMPT}`);

    const [generateSpan, requestSpan, streamSpan] = exporter.getFinishedSpans();
    expect(generateSpan!.name).toBe('distillery.teacher');
    expect(generateSpan!.parentSpanContext?.spanId).toBe(requestSpan!.spanContext().spanId);
    expect(generateSpan!.attributes).toMatchObject({
      'distillery.arm': 'teacher',
      'distillery.model': 'gpt-4o',
      'gen_ai.operation.name': 'chat',
      'gen_ai.response.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 9,
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(streamSpan!.name).toBe('distillery.teacher');
    expect(streamSpan!.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(streamSpan!.status.code).toBe(1);
    expect(serialize(exporter.getFinishedSpans())).not.toContain('4111');
  });

  it('a failed or abandoned stream still ends its span', async () => {
    fake = await startFakeOpenAIServer({ streamChunkSize: 4, fault: (_req, i) => (i === 1 ? { kind: 'status', status: 400, message: PROMPT } : undefined) });
    const model = createOpenAIModel('phi-4-mini', modelSettingsSchema.parse({ provider: 'openai', baseURL: fake.baseURL, auth: 'none', maxRetries: 0 }), { env: {} });
    const exporter = new InMemorySpanExporter();
    running = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const student = traceChatModel(model, 'student');
    for await (const event of student.stream({ messages: [{ role: 'user', content: 'a fairly long question to stream back' }] })) {
      if (event.type === 'delta') break; // the client went away after the first chunk
    }
    await expect(async () => {
      for await (const _ of student.stream({ messages: [{ role: 'user', content: PROMPT }] })) void _;
    }).rejects.toBeInstanceOf(DistilleryError);
    const [abandoned, failed] = exporter.getFinishedSpans();
    expect(abandoned!.name).toBe('distillery.student');
    expect(abandoned!.ended).toBe(true);
    expect(failed!.status.code).toBe(2);
    expect(failed!.attributes['error.type']).toMatch(/^[\w.]+$/);
    expect(serialize(exporter.getFinishedSpans())).not.toContain('4111');
  });

  it('tracePairStore makes a span per write and leaves the real store working', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'distillery-telemetry-'));
    const store = tracePairStore(new SqlitePairStore({ path: path.join(dir, 'pairs.db') }));
    const exporter = new InMemorySpanExporter();
    running = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const pair = (id: string): PairRecord => ({
      id,
      task: 'support',
      tenant: 'acme',
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, Number(id.slice(1)))).toISOString(),
      request: { messages: [{ role: 'user', content: PROMPT }], params: {} },
      servedArm: 'teacher',
      reason: 'pinned',
      policy: 'pinned',
      teacher: { model: 'gpt-4o', text: `echo: ${PROMPT}`, latencyInMs: 5, role: 'served' },
      source: { kind: 'traffic' },
    });
    await store.upsert(pair('p1'));
    await store.upsertMany([pair('p2'), pair('p3')]);
    await store.flush();
    expect((await store.get('support', 'acme', 'p2'))?.request.messages[0]?.content).toBe(PROMPT);
    expect(await store.getCounter('support')).toBe(3);
    await store.close();

    const writes = exporter.getFinishedSpans().filter((s) => s.name === 'distillery.store.write');
    expect(writes.map((s) => [s.attributes['distillery.store.operation'], s.attributes['distillery.records']])).toEqual([
      ['upsert', 1],
      ['upsertMany', 2],
    ]);
    expect(writes.every((s) => s.attributes['distillery.task'] === 'support' && s.attributes['distillery.store'] === 'pairs')).toBe(true);
    expect(serialize(exporter.getFinishedSpans())).not.toContain('4111');
  });
});
