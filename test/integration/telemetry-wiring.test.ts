import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../../src/telemetry.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// Telemetry as composed: a shadowed chat request produces spans for both arm calls, and nothing
// in any span carries the prompt or the answer.

const PROMPT = 'my card number is four one one one and my name is Ada Lovelace';
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let h: Harness;

beforeAll(async () => {
  telemetry = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
  h = await startHarness({ teacher: { answer: () => ({ text: 'Teacher secret answer' }) }, student: { answer: () => ({ text: 'Student secret answer' }) } });
});
afterAll(async () => {
  await h.close();
  await telemetry.shutdown();
});

describe('telemetry wiring', () => {
  it('records a span per arm call without prompt or answer text', async () => {
    const res = await h.distillery.app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'support-chat', messages: [{ role: 'user', content: PROMPT }] }),
    });
    expect(res.status).toBe(200);
    await h.distillery.pairWriter.flush();
    await expect.poll(() => exporter.getFinishedSpans().map((s) => s.name).sort(), { timeout: 5_000 }).toEqual(expect.arrayContaining(['distillery.student', 'distillery.teacher']));
    const dump = JSON.stringify(exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })));
    expect(dump).not.toContain('Lovelace');
    expect(dump).not.toContain('secret answer');
  });
});
