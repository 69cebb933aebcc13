import { z } from 'zod';
import { documentSchema, settingsSchema } from './config.js';
import { pricingOverrideSchema } from './core/eval/pricing.js';

// docs/configuration.md, generated from the configuration schema so the two cannot drift:
// test/unit/config-docs.test.ts fails when the committed file differs from this output.
// Regenerate with: npx tsx src/config-docs.ts > docs/configuration.md

function describeType(schema: z.ZodType): { type: string; def?: unknown } {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  const type = Array.isArray(json.enum) ? (json.enum as unknown[]).map((v) => `\`${String(v)}\``).join(' \\| ') : String(json.type ?? json.format ?? 'string');
  return { type, ...(json.default !== undefined ? { def: json.default } : {}) };
}

export function renderConfigurationDoc(): string {
  const lines: string[] = [
    '# Configuration',
    '',
    '<!-- Generated from src/config.ts by src/config-docs.ts; do not edit by hand. -->',
    '',
    'Distillery reads its settings once, at start, from the environment: Azure Functions app settings in',
    'Azure, `local.settings.json` under `func start`, or the shell for `npm start`. Connections follow the',
    'Functions conventions: a connection string under `NAME`, or identity-based `NAME__accountEndpoint` /',
    '`NAME__fullyQualifiedNamespace` / `NAME__blobServiceUri` with `NAME__credential=managedidentity` and',
    '`NAME__clientId` for a user-assigned identity (DefaultAzureCredential otherwise).',
    '',
    '## Settings',
    '',
    '| setting | type | default | meaning |',
    '| --- | --- | --- | --- |',
  ];
  for (const [name, schema] of Object.entries(settingsSchema.shape)) {
    const { type, def } = describeType(schema as z.ZodType);
    const description = ((schema as z.ZodType).description ?? '').replaceAll('|', '\\|');
    lines.push(`| \`${name}\` | ${type} | ${def === undefined ? '' : `\`${String(def)}\``} | ${description} |`);
  }
  lines.push(
    '',
    '## The models, tasks and pricing document',
    '',
    '`DISTILLERY_CONFIG_FILE` (default `data/distillery.config.json`) or `DISTILLERY_CONFIG_JSON` holds one JSON',
    'document: `models` (id → OpenAI-compatible endpoint settings), `tasks` (what clients name in `model`:',
    'teacher, student, routing policy, classification labels, distillation settings) and optional `pricing`.',
    'Its JSON Schema:',
    '',
    '```json',
    JSON.stringify(z.toJSONSchema(documentSchema, { unrepresentable: 'any', io: 'input' }), null, 2),
    '```',
    '',
    '## The pricing section',
    '',
    '`pricing` is laid over the built-in price table (dated Azure OpenAI and Azure AI Foundry list prices, each',
    'with its source URL; `distillery pricing` lists it). An entry of the same name, or one claiming a built-in',
    'alias, wins; `builtIn: false` prices only the entries listed. Models are priced only under their exact name',
    'or an explicit alias (case-insensitive): an unlisted model has unknown cost, and reports say so. A configured',
    "model is looked up under its `priceAs`, else its upstream `model` or `deployment`. Its JSON Schema:",
    '',
    '```json',
    JSON.stringify(z.toJSONSchema(pricingOverrideSchema, { unrepresentable: 'any', io: 'input' }), null, 2),
    '```',
    '',
  );
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)) {
  process.stdout.write(renderConfigurationDoc());
}
