import { Option, type Command } from 'commander';
import { api, apiOptions, out } from './cli-api.js';

// `distillery keys create|list|revoke|usage`: API keys through the admin API (operator key).

interface KeyView {
  id: string;
  tenant: string;
  scopes: string[];
  name: string | null;
  created_at: string;
  last_used_at: string | null;
  key?: string;
}

const keyLine = (k: KeyView) => `${k.id.padEnd(14)} ${k.tenant.padEnd(16)} ${k.scopes.join('+').padEnd(18)} ${(k.name ?? '').padEnd(16)} ${k.created_at.padEnd(25)} ${k.last_used_at ?? '-'}`;
const keyHeader = `${'id'.padEnd(14)} ${'tenant'.padEnd(16)} ${'scopes'.padEnd(18)} ${'name'.padEnd(16)} ${'created'.padEnd(25)} last used`;

export function addKeysCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('API keys (operator key): create, list, revoke, usage.')
    .addHelpText('after', '\nExamples:\n  npx distillery keys create --tenant acme --name ci\n  npx distillery keys list\n  npx distillery keys revoke 3f9a0c1b2d4e\n');
  keys
    .command('create')
    .description('Create a key; it is printed this once (only its SHA-256 is kept).')
    .option('--tenant <tenant>', "the key's tenant")
    .option('--operator', 'an operator key (every tenant) instead of a tenant key')
    .addOption(new Option('--scope <scope...>', 'scopes').choices(['chat', 'admin', 'metrics']).default(['chat']))
    .option('--name <name>', 'a label for people')
    .option('--rate <n>', 'requests per second for this key')
    .addHelpText('after', '\nExamples:\n  npx distillery keys create --tenant acme --name ci\n  npx distillery keys create --tenant acme --scope chat admin\n  npx distillery keys create --operator --scope metrics --name prometheus\n')
    .action(async (o: { tenant?: string; operator?: boolean; scope: string[]; name?: string; rate?: string }, cmd: Command) => {
      const g = apiOptions(cmd);
      const body = { ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.operator ? { operator: true } : {}), scopes: o.scope, ...(o.name ? { name: o.name } : {}), ...(o.rate ? { rate_per_second: Number(o.rate) } : {}) };
      const k = await api<KeyView>(g, 'POST', '/admin/keys', body);
      out(g, k, () => `created ${k.id} (tenant ${k.tenant}, scopes ${k.scopes.join('+')}); the key, shown once:\n${k.key}`);
    });
  keys
    .command('list')
    .description('Keys created through the API (never the keys themselves).')
    .addHelpText('after', '\nExample:\n  npx distillery keys list\n')
    .action(async (_o: unknown, cmd: Command) => {
      const g = apiOptions(cmd);
      const list = await api<{ data: KeyView[] }>(g, 'GET', '/admin/keys');
      out(g, list.data, () => (list.data.length ? [keyHeader, ...list.data.map(keyLine)].join('\n') : '(no keys created through the API)'));
    });
  keys
    .command('revoke')
    .argument('<id>', 'key id (from keys list)')
    .description('Revoke a key: it answers 401 (at once here, within 30 s on other instances).')
    .addHelpText('after', '\nExample:\n  npx distillery keys revoke 3f9a0c1b2d4e\n')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = apiOptions(cmd);
      const r = await api<{ id: string; deleted: boolean }>(g, 'DELETE', `/admin/keys/${encodeURIComponent(id)}`);
      out(g, r, () => `revoked ${r.id}`);
    });
  keys
    .command('usage')
    .argument('<id>', 'key id')
    .option('--since <iso>', 'window start (default: 30 days ago)')
    .option('--until <iso>', 'window end (default: now)')
    .description("A key's requests and spend, from the pairs it produced.")
    .addHelpText('after', '\nExample:\n  npx distillery keys usage 3f9a0c1b2d4e --since 2025-01-01T00:00:00Z\n')
    .action(async (id: string, o: { since?: string; until?: string }, cmd: Command) => {
      const g = apiOptions(cmd);
      const query = new URLSearchParams({ ...(o.since ? { since: o.since } : {}), ...(o.until ? { until: o.until } : {}) });
      const u = await api<{ requests: number; cost_usd: number; unpriced_calls: number; since: string; until: string; by_task: Record<string, { requests: number; cost_usd: number }> }>(g, 'GET', `/admin/keys/${encodeURIComponent(id)}/usage?${query}`);
      out(g, u, () =>
        [
          `${id}: ${u.requests} requests, $${u.cost_usd.toFixed(6)}${u.unpriced_calls ? ` (+${u.unpriced_calls} calls of unknown price)` : ''}  ${u.since} .. ${u.until}`,
          ...Object.entries(u.by_task).map(([t, v]) => `  ${t.padEnd(28)} ${String(v.requests).padStart(8)}  $${v.cost_usd.toFixed(6)}`),
        ].join('\n'),
      );
    });
}
