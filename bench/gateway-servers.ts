// Child-process servers for bench/gateway-overhead.ts, each printing `READY <url>` when listening:
//   teacher             the fake OpenAI-compatible teacher (fixed short answer)
//   bare <teacherURL>   the floor for any Node gateway: Hono on @hono/node-server forwarding with
//                       fetch — no validation, no routing, no logging
//   distillery <teacherURL> <dataDir>   Distillery with pair logging into SQLite
//   student <teacherURL> <dataDir>      Distillery pinned to an in-process ONNX student (a promoted
//                       registry version with CLINC150-sized untrained weights: same compute per call)
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startFakeOpenAIServer } from '../test/fixtures/fake-openai-server.js';

const [role, teacherURL, dataDir] = process.argv.slice(2);
export const BENCH_KEY = 'dk-bench-key';

async function main() {
  if (role === 'teacher') {
    const t = await startFakeOpenAIServer({ model: 'gpt-4o', answer: () => ({ text: 'Your balance is available in the app.', promptTokens: 20, completionTokens: 8 }) });
    console.log(`READY ${t.baseURL}`);
    return;
  }
  if (role === 'bare') {
    const app = new Hono();
    app.post('/v1/chat/completions', async (c) => {
      const upstream = await fetch(`${teacherURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer none' },
        body: await c.req.text(),
      });
      return new Response(upstream.body, { status: upstream.status, headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json' } });
    });
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => console.log(`READY http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`));
    return;
  }
  if (role === 'distillery' || role === 'student') {
    const { createHash } = await import('node:crypto');
    const { loadConfig } = await import('../src/config.js');
    const { createDistillery } = await import('../src/compose/index.js');
    const { listen } = await import('../src/http/listen.js');
    const config = loadConfig({
      DISTILLERY_CONFIG_JSON: JSON.stringify({
        models: { teacher: { baseURL: teacherURL, auth: 'none', maxRetries: 0 } },
        tasks: [
          role === 'student'
            ? { name: 'bench', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: STUDENT_LABELS }, routing: { policy: { type: 'pinned', arm: 'student' } } }
            : { name: 'bench', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' } } },
        ],
      }),
      DISTILLERY_DATA_DIR: path.resolve(dataDir!),
      DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 'bench', scopes: ['chat'], sha256: createHash('sha256').update(BENCH_KEY).digest('hex') }]),
      // batched (default) or write-ahead: the crash-window setting whose cost the bench measures.
      ...(process.env.DISTILLERY_PAIR_DURABILITY ? { DISTILLERY_PAIR_DURABILITY: process.env.DISTILLERY_PAIR_DURABILITY } : {}),
    });
    console.log(`DURABILITY ${config.settings.DISTILLERY_PAIR_DURABILITY}`);
    const d = await createDistillery(config);
    if (role === 'student') await promoteStudent(d);
    const s = await listen(d.app, { host: '127.0.0.1', port: 0 });
    console.log(`READY ${s.url}/v1`);
    process.on('SIGTERM', async () => {
      await d.close();
      console.log(`PAIRS_WRITTEN ${d.pairWriter.written}`);
      process.exit(0);
    });
    return;
  }
  throw new Error(`unknown role ${role}`);
}
main();

const STUDENT_LABELS = Array.from({ length: 150 }, (_, i) => `intent_${i}`);

/** Writes and promotes an ONNX student with the default (CLINC150-sized) architecture. */
async function promoteStudent(d: import('../src/compose/index.js').Distillery) {
  const { initStudentWeights, parseHyperparameters } = await import('../src/adapters/onnx/train-student.js');
  const { writeStudentArtifacts } = await import('../src/adapters/onnx/student-artifacts.js');
  const { createRandom } = await import('../src/core/eval/random.js');
  const weights = initStudentWeights(STUDENT_LABELS, parseHyperparameters({}), createRandom(1));
  await writeStudentArtifacts(d.artifacts, 'models/bench/v1', weights, { task: 'bench', createdAt: new Date().toISOString() });
  const v = await d.registry.create({ task: 'bench', kind: 'onnx', artifactPath: 'models/bench/v1', lineage: {} });
  await d.registry.promote('bench', v.version);
}
