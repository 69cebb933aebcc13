import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startBuiltinModels } from '../../src/serve-command.js';
import type { DemoTeacherServer } from '../../src/adapters/onnx/demo-teacher.js';

// The first `npm start` trains the demo teacher (a minute or more on a busy machine): it prints
// each epoch as it ends and the total, instead of nothing until it is done (#20). A second start
// finds the cache and prints no training lines.

const ROOT = path.resolve(import.meta.dirname, '../..');
const started: DemoTeacherServer[] = [];
const cacheRoot = mkdtempSync(path.join(tmpdir(), 'distillery-teacher-cache-'));
afterAll(async () => {
  for (const s of started) await s.close();
  rmSync(cacheRoot, { recursive: true, force: true });
});

const config = () => loadConfig({ DISTILLERY_CONFIG_FILE: path.join(ROOT, 'data', 'distillery.config.json'), DISTILLERY_DEMO_TEACHER_LATENCY_MS: '0' });

describe('demo teacher training progress', () => {
  it('prints every epoch of the first training and the total, then nothing once cached', async () => {
    const lines: string[] = [];
    started.push(...(await startBuiltinModels(config(), (l) => lines.push(l), cacheRoot)));
    expect(lines[0]).toMatch(/^Training the demo teacher once/);
    for (let epoch = 1; epoch <= 10; epoch++) expect(lines.some((l) => l.startsWith(`  demo teacher: epoch ${epoch}/10 done, train loss `))).toBe(true);
    expect(lines.some((l) => /demo teacher: trained in \d+ s, cached in /.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^Demo teacher 'demo-teacher' .* at http:\/\/127\.0\.0\.1:\d+\/v1$/);

    const again: string[] = [];
    started.push(...(await startBuiltinModels(config(), (l) => again.push(l), cacheRoot)));
    expect(again).toHaveLength(1);
    expect(again[0]).toMatch(/^Demo teacher 'demo-teacher'/);
  }, 600_000);
});
