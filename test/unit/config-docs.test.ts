import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsSchema } from '../../src/config.js';
import { renderConfigurationDoc } from '../../src/config-docs.js';

describe('docs/configuration.md', () => {
  it('is what the configuration schema generates (regenerate: npx tsx src/config-docs.ts > docs/configuration.md)', () => {
    const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderConfigurationDoc());
  });
  it('documents every setting, and local.settings.sample.json lists every setting', () => {
    const doc = renderConfigurationDoc();
    const sample = JSON.parse(readFileSync(new URL('../../local.settings.sample.json', import.meta.url), 'utf8')).Values as Record<string, string>;
    for (const name of Object.keys(settingsSchema.shape)) {
      expect(doc).toContain(`| \`${name}\` |`);
      expect(Object.keys(sample)).toContain(name);
    }
  });
});
