import { describe, expect, it } from 'vitest';
import { sseData } from '../../src/adapters/openai/sse-data.js';

// The SSE reader of the undici teacher path: events split anywhere across network chunks.

async function collect(chunks: string[]): Promise<string[]> {
  const out: string[] = [];
  let bytes = 0;
  async function* source() {
    for (const c of chunks) yield Buffer.from(c);
  }
  for await (const d of sseData(source(), () => bytes++)) out.push(d);
  expect(bytes).toBeGreaterThan(0);
  return out;
}

describe('sseData', () => {
  it('yields each data payload, stops at [DONE], skips comments and other fields', async () => {
    expect(await collect([': keep-alive\n\nevent: message\nid: 1\ndata: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\ndata: {"late":1}\n\n'])).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('joins events split across chunks, even inside a multi-byte character and a CRLF', async () => {
    const text = 'data: {"content":"héllo"}\r\n\r\ndata: {"x":2}\n\n';
    const bytes = Buffer.from(text);
    const split = [bytes.subarray(0, 19), bytes.subarray(19, 28), bytes.subarray(28)].map((b) => b.toString('latin1'));
    async function* source() {
      for (const s of split) yield Buffer.from(s, 'latin1');
    }
    const out: string[] = [];
    for await (const d of sseData(source(), () => {})) out.push(d);
    expect(out).toEqual(['{"content":"héllo"}', '{"x":2}']);
  });

  it('joins multi-line data with newlines and flushes a last event without its blank line', async () => {
    expect(await collect(['data: line1\ndata: line2\n\ndata:{"tail":true}'])).toEqual(['line1\nline2', '{"tail":true}']);
  });
});
