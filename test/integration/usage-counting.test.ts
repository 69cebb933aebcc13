import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { startDemoTeacherServer, type DemoTeacherServer } from '../../src/adapters/onnx/demo-teacher.js';
import { OnnxStudentModel } from '../../src/adapters/onnx/onnx-student-model.js';
import { writeStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { initStudentWeights, parseHyperparameters } from '../../src/adapters/onnx/train-student.js';
import { createOpenAIModel } from '../../src/adapters/openai/create-openai-model.js';
import { cl100kReady } from '../../src/adapters/shared/cl100k-token-counter.js';
import { modelSettingsSchema } from '../../src/core/chat/model-settings.js';
import { createRandom } from '../../src/core/eval/random.js';

// Issue #16: the same prompt used to cost 13/3 tokens on the teacher arm and 4/1 on the student arm
// (the demo teacher counted JSON characters / 4, the student counted the words it featurized).
// Both now count the chat with cl100k_base and OpenAI's chat recipe, and each usage says where it
// comes from: the teacher's through the wire is `upstream`, the student's `counted` here.

const dirs: string[] = [];
const servers: DemoTeacherServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function student(): Promise<OnnxStudentModel> {
  const dir = await mkdtemp(join(tmpdir(), 'distillery-usage-'));
  dirs.push(dir);
  const store = new FsArtifactStore({ root: dir });
  const hp = parseHyperparameters({ buckets: 256, embedding_dim: 8, seed: 5 });
  const w = initStudentWeights(['refund', 'shipping', 'other'], hp, createRandom(5));
  await writeStudentArtifacts(store, 'support/1', w, { task: 'support', lineage: {}, metrics: {} });
  return (await OnnxStudentModel.fromArtifacts(store, { id: 'support@1', artifactPath: 'support/1' }))!;
}

describe('token usage of the two arms', () => {
  it('an unwarmed student answers at once with the estimate, marked as such', async () => {
    const model = await student();
    expect(cl100kReady()).toBe(false);
    const r = await model.generate({ messages: [{ role: 'user', content: 'hello' }] });
    // 3 (reply) + 3 (message) + ceil(4/4) ('user') + ceil(5/4) ('hello')
    expect(r.usage).toEqual({ promptTokens: 9, completionTokens: expect.any(Number), source: 'estimated' });
  });

  it('the same prompt costs the same prompt tokens through the teacher arm and the student arm', async () => {
    const model = await student();
    await model.warm();
    expect(cl100kReady()).toBe(true);
    const server = await startDemoTeacherServer({ model, latencyInMs: { min: 0, max: 0 } });
    servers.push(server);
    const teacher = createOpenAIModel('demo-teacher', modelSettingsSchema.parse({ provider: 'openai', baseURL: server.baseURL, auth: 'none' }), { env: {} });

    // What OpenAI's API reports for this request to gpt-4 / gpt-3.5-turbo: 8 prompt tokens.
    const hello = { messages: [{ role: 'user' as const, content: 'hello' }] };
    expect((await model.generate(hello)).usage).toMatchObject({ promptTokens: 8, source: 'counted' });

    const request = {
      messages: [
        { role: 'system' as const, content: 'Classify the intent of the customer message.' },
        { role: 'user' as const, content: 'I want my money back for the broken toaster, please' },
      ],
    };
    const s = await model.generate(request);
    const t = await teacher.generate(request);
    expect(t.text).toBe(s.text);
    expect(s.usage.source).toBe('counted');
    expect(t.usage.source).toBe('upstream');
    expect(t.usage.promptTokens).toBe(s.usage.promptTokens);
    expect(t.usage.completionTokens).toBe(s.usage.completionTokens);
    expect(s.usage.promptTokens).toBeGreaterThan(20);

    // Streaming reports the same usage as the non-streamed call.
    let streamed: unknown;
    for await (const ev of teacher.stream(request)) if (ev.type === 'finish') streamed = ev.usage;
    expect(streamed).toEqual(t.usage);
  });
});
