// What telemetry adds to one served request: the spans a request makes (request → route, teacher,
// store write), one recordRequest and one recordAgreement, timed per request, against the same
// nested async calls without telemetry, measured in the same run.
//
//   npx tsx bench/telemetry-overhead.ts
//
// Modes: `none` (no connection string: helpers are no-ops over the API's no-op tracer), `local`
// with a BatchSpanProcessor over an exporter that drops spans (the shape of production, without
// the network) and a metric reader, and `local-simple` with SimpleSpanProcessor + InMemorySpanExporter
// (what the tests use). Azure Monitor's own export cost is off the request path (batched).

import { MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { recordAgreement, recordRequest, sanitizeAttributes, startTelemetry, withSpan, type StartTelemetryOptions } from '../src/telemetry.js';

class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

class QuietReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const ITERATIONS = 20_000;
const WARMUP = 2_000;
const ROUNDS = 5;

const work = async () => 'ok';

async function bare(): Promise<string> {
  await work();
  const text = await work();
  await work();
  return text;
}

async function instrumented(): Promise<string> {
  return withSpan('distillery.request', { 'distillery.task': 'intent', 'distillery.tenant': 'acme', 'distillery.stream': false }, async (request) => {
    await withSpan('distillery.route', { 'distillery.policy': 'weighted', 'distillery.reason': 'weighted:student@10%' }, work);
    const text = await withSpan('distillery.teacher', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' }, async (span) => {
      const t = await work();
      span.setAttributes({ 'gen_ai.usage.input_tokens': 31, 'gen_ai.usage.output_tokens': 7, 'gen_ai.response.finish_reasons': ['stop'] });
      return t;
    });
    await withSpan('distillery.store.write', { 'distillery.store': 'pairs', 'distillery.records': 1 }, work);
    request.setAttributes({ 'distillery.latency_ms': 12.5, 'http.response.status_code': 200 });
    recordRequest({ task: 'intent', arm: 'teacher', latencyInMs: 12.5, costUsd: 0.002 });
    recordAgreement('intent', 1);
    return text;
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function measure(fn: () => Promise<unknown>): Promise<{ p50: number; p99: number; mean: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const medians: { p50: number; p99: number; mean: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const samples = new Array<number>(ITERATIONS);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) {
      const s = process.hrtime.bigint();
      await fn();
      samples[i] = Number(process.hrtime.bigint() - s);
    }
    const total = Number(process.hrtime.bigint() - t0);
    samples.sort((a, b) => a - b);
    medians.push({ p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), mean: total / ITERATIONS });
  }
  // The median round, by p50, so one noisy round on a shared machine does not decide the figure.
  medians.sort((a, b) => a.p50 - b.p50);
  return medians[Math.floor(ROUNDS / 2)]!;
}

const us = (ns: number) => (ns / 1000).toFixed(2).padStart(8);

async function run(label: string, options: StartTelemetryOptions | undefined, baseline?: { p50: number; p99: number; mean: number }) {
  const telemetry = options ? await startTelemetry({}, options) : undefined;
  const figures = await measure(options ? instrumented : bare);
  await telemetry?.shutdown();
  const ratio = baseline ? `  ×${(figures.p50 / baseline.p50).toFixed(2)} p50, +${us(figures.p50 - baseline.p50).trim()} µs/request` : '  (baseline)';
  console.log(`${label.padEnd(34)} p50 ${us(figures.p50)} µs  p99 ${us(figures.p99)} µs  mean ${us(figures.mean)} µs${ratio}`);
  return figures;
}

console.log(`telemetry overhead per request: 4 spans + 2 metric calls; ${ROUNDS} rounds × ${ITERATIONS} requests, median round\n`);
const baseline = await run('no telemetry code (baseline)', undefined);
await run('withSpan, telemetry off (none)', {}, baseline);
const dropping = new DroppingExporter();
await run('local, BatchSpanProcessor + metrics', { spanProcessors: [new BatchSpanProcessor(dropping, { maxQueueSize: 65_536 })], metricReaders: [new QuietReader()] }, baseline);
const memory = new InMemorySpanExporter();
await run('local, SimpleSpanProcessor in memory', { spanProcessors: [new SimpleSpanProcessor(memory)], metricReaders: [new QuietReader()] }, baseline);
memory.reset();

// The attribute guard alone.
const attrs = { 'distillery.task': 'intent', 'distillery.tenant': 'acme', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.prompt': 'drop me please' };
for (let i = 0; i < 50_000; i++) sanitizeAttributes(attrs);
const s = process.hrtime.bigint();
for (let i = 0; i < 500_000; i++) sanitizeAttributes(attrs);
console.log(`\nsanitizeAttributes (4 keys, 1 dropped): ${(Number(process.hrtime.bigint() - s) / 500_000).toFixed(0)} ns/call`);
console.log(`spans exported through the batch processor: ${dropping.exported}`);
