import type { Arm, ChatModelResult, ChatStreamEvent } from './core/chat/chat-model-types.js';
import type { ChatModel, PairStore } from './core/ports.js';
import { errorType, sanitizeAttributes, tracingApi, TRACER_NAME, withSpan, type SpanName, type TelemetryAttributes } from './telemetry.js';

// Port wrappers: one line in the composition root instruments every teacher/student call and pair
// write with the spans of telemetry.ts (no-ops unless telemetry was started).

function resultAttributes(result: { model: string; usage?: ChatModelResult['usage']; finishReason?: ChatModelResult['finishReason'] }): TelemetryAttributes {
  return {
    'gen_ai.response.model': result.model,
    'gen_ai.usage.input_tokens': result.usage?.promptTokens,
    'gen_ai.usage.output_tokens': result.usage?.completionTokens,
    'gen_ai.response.finish_reasons': result.finishReason ? [result.finishReason] : undefined,
  };
}

async function* traceStream(
  name: SpanName,
  attributes: TelemetryAttributes,
  open: () => AsyncIterable<ChatStreamEvent>,
): AsyncGenerator<ChatStreamEvent, void, undefined> {
  const api = tracingApi();
  if (!api) {
    yield* open();
    return;
  }
  const { trace, SpanStatusCode } = api;
  const initial = sanitizeAttributes(attributes);
  // The span covers the whole stream, from the first read to the last event (or an early stop).
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { attributes: initial.attributes });
  let dropped = initial.dropped;
  try {
    for await (const event of open()) {
      if (event.type === 'finish') {
        const clean = sanitizeAttributes(resultAttributes(event));
        dropped += clean.dropped;
        span.setAttributes(clean.attributes);
      }
      yield event;
    }
    span.setStatus({ code: SpanStatusCode.OK });
  } catch (err) {
    span.setAttributes(sanitizeAttributes({ 'error.type': errorType(err) }).attributes);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    if (dropped) span.setAttribute('distillery.attributes_dropped', dropped);
    span.end();
  }
}

/** A ChatModel whose generate/stream calls are `distillery.teacher` / `distillery.student` spans. */
export function traceChatModel(model: ChatModel, arm: Arm): ChatModel {
  const name: SpanName = arm === 'teacher' ? 'distillery.teacher' : 'distillery.student';
  const attributes: TelemetryAttributes = { 'distillery.arm': arm, 'distillery.model': model.id, 'gen_ai.operation.name': 'chat' };
  return {
    id: model.id,
    hosting: model.hosting,
    // The cascade reads a student version's calibrated τ from the model it resolved.
    ...(model.cascadeCalibration ? { cascadeCalibration: model.cascadeCalibration } : {}),
    // Telemetry off (the usual embedded case): the model's own call, no span closure or extra await.
    generate: (request, options) =>
      !tracingApi()
        ? model.generate(request, options)
        : withSpan(name, attributes, async (span) => {
            const result = await model.generate(request, options);
            span.setAttributes(resultAttributes(result));
            return result;
          }),
    stream: (request, options) => traceStream(name, attributes, () => model.stream(request, options)),
  };
}

/**
 * A PairStore whose writes are `distillery.store.write` spans; every other member is the store's
 * own (a proxy, so members added to the port later pass through untouched).
 */
export function tracePairStore(store: PairStore): PairStore {
  const write = (operation: string, pairs: readonly { task: string }[], run: () => Promise<void>) =>
    withSpan(
      'distillery.store.write',
      {
        'distillery.store': 'pairs',
        'distillery.store.operation': operation,
        'distillery.records': pairs.length,
        ...(pairs.length > 0 && pairs.every((p) => p.task === pairs[0]!.task) ? { 'distillery.task': pairs[0]!.task } : {}),
      },
      run,
    );
  const upsert: PairStore['upsert'] = (pair, options) => write('upsert', [pair], () => store.upsert(pair, options));
  const upsertMany: PairStore['upsertMany'] = (pairs, options) => write('upsertMany', pairs, () => store.upsertMany(pairs, options));
  return new Proxy(store, {
    get(target, property) {
      if (property === 'upsert') return upsert;
      if (property === 'upsertMany') return upsertMany;
      const value: unknown = Reflect.get(target, property, target);
      // Bound to the store itself: its methods may use #private fields.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
