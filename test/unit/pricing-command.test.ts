import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT, main } from '../../src/cli.js';

// `distillery pricing`: the table in use, as text and JSON, with the configuration's overrides and
// the configured models' lookups; a bad pricing section exits 2 like `config check`.

async function run(args: string[], configJson: unknown) {
  const saved = process.env.DISTILLERY_CONFIG_JSON;
  process.env.DISTILLERY_CONFIG_JSON = JSON.stringify(configJson);
  const chunks: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void chunks.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void chunks.push(a.join(' ')));
  try {
    const code = await main(['node', 'distillery', ...args]);
    return { code, text: chunks.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    if (saved === undefined) delete process.env.DISTILLERY_CONFIG_JSON;
    else process.env.DISTILLERY_CONFIG_JSON = saved;
  }
}

const config = {
  models: {
    teacher: { provider: 'openai', baseURL: 'http://127.0.0.1:1/v1', auth: 'none', model: 'DeepSeek-V3' },
    judge: { provider: 'openai', baseURL: 'http://127.0.0.1:1/v1', auth: 'none', model: 'gpt-4.1-turbo-unlisted' },
    student: { provider: 'openai', baseURL: 'http://127.0.0.1:1/v1', auth: 'none', model: 'phi-ft-1', priceAs: 'Phi-4-mini' },
  },
  tasks: [],
  pricing: { models: { 'gpt-4.1': { inputPerMillionUsd: 1.8, outputPerMillionUsd: 7.2, deploymentType: 'contract', effectiveDate: '2026-01-01', source: 'EA 2026' } } },
};

afterEach(() => vi.restoreAllMocks());

describe('distillery pricing', () => {
  it('prints the table with prices, deployment type, effective date and source, and flags unknown cost', async () => {
    const { code, text } = await run(['pricing'], config);
    expect(code).toBe(EXIT.ok);
    expect(text).toMatch(/^model\s+input\/1M\s+output\/1M\s+deployment\s+provider\s+effective\s+source/);
    expect(text).toMatch(/gpt-4o-2024-05-13\s+\$5\.00\s+\$15\.00\s+global\s+azure-openai\s+2024-05-13\s+https:\/\/azure\.microsoft\.com\//);
    expect(text).toMatch(/gpt-4\.1 \(= gpt-4\.1-2025-04-14\)\s+\$1\.80\s+\$7\.20\s+contract\s+—\s+2026-01-01\s+config: EA 2026/);
    expect(text).toMatch(/teacher \(priced as DeepSeek-V3\): DeepSeek-V3/);
    expect(text).toMatch(/student \(priced as Phi-4-mini\): Phi-4-mini-instruct/);
    expect(text).toMatch(/judge \(priced as gpt-4\.1-turbo-unlisted\): unknown cost/);
  });

  it('--json gives every entry with its source and note, and looks up the names given', async () => {
    const { code, text } = await run(['--json', 'pricing', 'gpt-4o', 'gpt-4.1-nano-2025-04-14', 'nope-1'], config);
    expect(code).toBe(EXIT.ok);
    const listing = JSON.parse(text);
    const row = listing.models.find((m: { model: string }) => m.model === 'DeepSeek-V3');
    expect(row).toMatchObject({ inputPerMillionUsd: 1.14, outputPerMillionUsd: 4.56, deploymentType: 'serverless', provider: 'azure-ai-foundry', origin: 'built-in' });
    expect(row.note).toMatch(/Unconfirmed/);
    expect(listing.models.find((m: { model: string }) => m.model === 'gpt-4.1').origin).toBe('config');
    expect(listing.lookups).toEqual([
      { name: 'gpt-4o', pricedAs: 'gpt-4o', entry: 'gpt-4o-2024-11-20' },
      { name: 'gpt-4.1-nano-2025-04-14', pricedAs: 'gpt-4.1-nano-2025-04-14', entry: 'gpt-4.1-nano' },
      { name: 'nope-1', pricedAs: 'nope-1', entry: null },
    ]);
    expect(listing.functionsPlan.gbSecondUsd).toBe(0.000026);
  });

  it('exits 2 with the issue when the pricing section is invalid', async () => {
    const bad = { ...config, pricing: { models: { x: { inputPerMillionUsd: -1, outputPerMillionUsd: 1 } } } };
    const r = await run(['pricing'], bad);
    expect(r.code).toBe(EXIT.usage);
    expect(r.text).toMatch(/Invalid pricing: models\.x\.inputPerMillionUsd/);
    const j = await run(['--json', 'pricing'], { ...config, pricing: { models: {}, currency: 'EUR' } });
    expect(j.code).toBe(EXIT.usage);
    expect(JSON.parse(j.text)).toMatchObject({ ok: false });
  });
});
