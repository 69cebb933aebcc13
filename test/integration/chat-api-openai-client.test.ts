import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// The standalone server on a loopback port, in front of a fake teacher and a fake student that
// are real OpenAI-wire HTTP servers; the official openai client is our client.

let h: Harness;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  h = await startHarness({
    teacher: { answer: (req) => ({ text: `Teacher says: ${req.body.messages.at(-1).content}`, promptTokens: 12, completionTokens: 5 }) },
    student: { answer: () => ({ text: 'Student says hi', promptTokens: 12, completionTokens: 3 }) },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.chatA, maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
  await h.close();
});

describe('chat API through the official openai client', () => {
  it('lists exactly the models a chat may name: every listed id answers a chat, the arms behind them are not listed', async () => {
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids.sort()).toEqual(['support-chat', 'teacher-only']);
    const task = models.data.find((m) => m.id === 'support-chat') as unknown as { distillery: { teacher: string; student: string } };
    expect(task.distillery).toMatchObject({ teacher: 'teacher', student: 'student' });
    for (const id of ids) {
      const answer = await client.chat.completions.create({ model: id, messages: [{ role: 'user', content: 'hello' }] });
      expect(answer.choices[0]!.message.content).toBeTruthy();
    }
    expect((await client.models.retrieve('support-chat')).id).toBe('support-chat');
    await expect(client.models.retrieve('teacher')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('answers non-streaming requests with content, usage and routing headers, and logs both arms', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'support-chat', messages: [{ role: 'user', content: 'hello there' }], user: 'u-1' })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]!.message.content).toBe('Teacher says: hello there');
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage).toEqual({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    expect(data.model).toBe('gpt-4o-2024-08-06');
    expect(response.headers.get('x-distillery-arm')).toBe('teacher');
    expect(response.headers.get('x-distillery-model')).toBe('gpt-4o-2024-08-06');
    expect(response.headers.get('x-distillery-reason')).toMatch(/shadow/);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toBeTruthy();

    // The shadowed pair holds both outputs.
    await expect.poll(async () => (await allPairs(h.distillery, 'support-chat')).find((p) => p.id === requestId), { timeout: 5_000 }).toBeTruthy();
    const pair = (await allPairs(h.distillery, 'support-chat')).find((p) => p.id === requestId)!;
    expect(pair.tenant).toBe('tenant-a');
    expect(pair.servedArm).toBe('teacher');
    expect(pair.teacher).toMatchObject({ text: 'Teacher says: hello there', role: 'served', usage: { promptTokens: 12, completionTokens: 5 } });
    expect(pair.student).toMatchObject({ text: 'Student says hi', role: 'shadow' });
    expect(pair.request.user).toBe('u-1');
    expect(pair.request.messages).toEqual([{ role: 'user', content: 'hello there' }]);
  });

  it('streams chunks ending with usage when include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'support-chat',
      messages: [{ role: 'user', content: 'stream me please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Teacher says: stream me please');
    expect(finish).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
  });

  it('streams raw SSE ending in data: [DONE] with routing headers', async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'teacher-only', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(res.headers.get('x-distillery-arm')).toBe('teacher');
    const body = await res.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(body).not.toContain('"usage"');
  });

  it('surfaces OpenAI-shaped errors to the client', async () => {
    await expect(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toMatchObject({ status: 401 });
  });

  it('stores nothing when store is false', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'teacher-only', messages: [{ role: 'user', content: 'private' }], store: false })
      .withResponse();
    const id = response.headers.get('x-request-id');
    await h.distillery.pairWriter.flush();
    const pairs = await allPairs(h.distillery, 'teacher-only');
    expect(pairs.find((p) => p.id === id)).toBeUndefined();
  });
});
