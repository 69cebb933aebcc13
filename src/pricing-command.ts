import { findModelPrice, parsePricing, priceNameOf, type Pricing } from './core/eval/pricing.js';
import type { ConfigDocument } from './config.js';

// `distillery pricing`: the price table a deployment uses — the built-in dated list prices with
// the configuration's `pricing` section laid over them — and, for names given, what each resolves
// to. The configured models are looked up under the name they are priced as, so an operator sees
// before the first request which models would be reported as "unknown cost".

export interface PriceRow {
  model: string;
  aliases: string[];
  inputPerMillionUsd: number;
  outputPerMillionUsd: number;
  provider: string | null;
  deploymentType: string | null;
  region: string | null;
  effectiveDate: string | null;
  source: string | null;
  note: string | null;
  /** `config` when the configuration's pricing section supplies the entry. */
  origin: 'built-in' | 'config';
}

export interface NameLookup {
  name: string;
  /** The configured model id, when the name is one (looked up under `pricedAs`). */
  pricedAs: string;
  entry: string | null;
}

export interface PricingListing {
  currency: 'USD';
  models: PriceRow[];
  functionsPlan: Pricing['functionsPlan'];
  lookups: NameLookup[];
}

export function listPricing(document: ConfigDocument, names: readonly string[]): PricingListing {
  const pricing = parsePricing(document.pricing);
  const configured = new Set(Object.keys((document.pricing as { models?: object } | undefined)?.models ?? {}));
  const models = Object.entries(pricing.models)
    .map(([model, p]): PriceRow => ({
      model,
      aliases: p.aliases,
      inputPerMillionUsd: p.inputPerMillionUsd,
      outputPerMillionUsd: p.outputPerMillionUsd,
      provider: p.provider ?? null,
      deploymentType: p.deploymentType ?? null,
      region: p.region ?? null,
      effectiveDate: p.effectiveDate ?? null,
      source: p.source ?? null,
      note: p.note ?? null,
      origin: configured.has(model) ? 'config' : 'built-in',
    }))
    .sort((a, b) => a.model.localeCompare(b.model));
  const wanted = names.length > 0 ? names : Object.keys(document.models);
  const lookups = wanted.map((name) => {
    const key = priceNameOf(document.models, name);
    return { name, pricedAs: key, entry: findModelPrice(pricing, key)?.id ?? null };
  });
  return { currency: 'USD', models, functionsPlan: pricing.functionsPlan, lookups };
}

const usd = (x: number) => `$${x.toFixed(x < 1 ? 3 : 2)}`;

export function formatPricing(listing: PricingListing): string {
  const header = ['model', 'input/1M', 'output/1M', 'deployment', 'provider', 'effective', 'source'];
  const rows = listing.models.map((r) => [
    r.model + (r.aliases.length ? ` (= ${r.aliases.join(', ')})` : ''),
    usd(r.inputPerMillionUsd),
    usd(r.outputPerMillionUsd),
    r.deploymentType ?? '—',
    r.provider ?? '—',
    r.effectiveDate ?? '—',
    r.origin === 'config' ? `config: ${r.source ?? 'no source given'}` : (r.source ?? '—'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const plan = listing.functionsPlan;
  const out = [
    line(header),
    ...rows.map(line),
    '',
    `in-process students: ${plan.name}, $${plan.gbSecondUsd} per GB-s at ${plan.instanceMemoryInMb} MB, $${plan.perMillionExecutionsUsd} per 1M executions`,
    'Prices in USD per 1,000,000 tokens. Only exact names and aliases are priced; notes (--json) say which figures are unconfirmed.',
  ];
  if (listing.lookups.length) {
    out.push('', 'configured models and names asked for:');
    for (const l of listing.lookups) {
      const as = l.pricedAs === l.name ? '' : ` (priced as ${l.pricedAs})`;
      out.push(`  ${l.name}${as}: ${l.entry === null ? 'unknown cost — add it to the pricing section or set priceAs' : l.entry}`);
    }
  }
  return out.join('\n');
}
