import type { Container } from '@azure/cosmos';

// Request-unit accounting for every Cosmos DB operation the adapters run: a container wrapped by
// meterContainer reports each response's charge (`requestCharge`, from the x-ms-request-charge
// header) to a listener — telemetry in production, a RequestChargeMeter in benchmarks and the
// capacity model. Where the charge is not real — the local test server (@vercel/cosmosdb-server)
// sends a constant `x-ms-request-charge: 1` — the charge is estimated from the item size with the
// RU-by-document-size table Microsoft publishes, and marked `estimated`.
//
// Source of the table (session/eventual consistency, default indexing):
// https://learn.microsoft.com/azure/cosmos-db/understand-request-unit-consumption (read 2026-07).
// The adapters index fewer paths than the default (cosmos-containers.ts), so writes on Azure should
// cost less than estimated. Query pages are not in the table: estimated as one read of the page's
// bytes plus 1 RU of query overhead (an assumption, not a documented figure).

export type CosmosOperation = 'read' | 'write' | 'query' | 'delete';

export interface RequestCharge {
  /** Logical container name (pairs, pair-counters, jobs, models). */
  container: string;
  operation: CosmosOperation;
  requestUnits: number;
  /** True when the figure comes from the size table rather than the service. */
  estimated: boolean;
  /** Item bytes written or returned (the estimate's input). */
  bytes: number;
}

export type RequestChargeListener = (charge: RequestCharge) => void;

/** [item KB, read RU, write RU] from the documented table. */
export const DOCUMENTED_RU_BY_SIZE: readonly (readonly [number, number, number])[] = [
  [1, 1.0, 4.95],
  [2, 1.04, 6.29],
  [4, 1.14, 6.67],
  [8, 1.33, 7.04],
  [16, 1.67, 9.52],
  [32, 2.19, 11.23],
  [64, 4.76, 22.67],
  [128, 9.95, 48.19],
  [256, 20.28, 98.29],
  [512, 40.95, 184.57],
  [1024, 145.9, 625.0],
  [2048, 291.8, 1250.0],
];

function interpolate(kb: number, column: 1 | 2): number {
  const rows = DOCUMENTED_RU_BY_SIZE;
  if (kb <= rows[0]![0]) return rows[0]![column];
  for (let i = 1; i < rows.length; i++) {
    const [k1] = rows[i]!;
    if (kb <= k1) {
      const [k0] = rows[i - 1]!;
      const v0 = rows[i - 1]![column];
      const v1 = rows[i]![column];
      return v0 + ((v1 - v0) * (kb - k0)) / (k1 - k0);
    }
  }
  const last = rows[rows.length - 1]!;
  return (last[column] * kb) / last[0];
}

/** RU of one operation on items of `bytes` in total, from the documented size table. */
export function estimateRequestCharge(operation: CosmosOperation, bytes: number): number {
  const kb = Math.max(0, bytes) / 1024;
  switch (operation) {
    case 'read':
      return interpolate(kb, 1);
    case 'write':
    case 'delete':
      return interpolate(kb, 2);
    case 'query':
      return 1 + interpolate(kb, 1);
  }
}

/** Totals per container and operation, for benchmarks and the capacity model. */
export class RequestChargeMeter {
  readonly #totals = new Map<string, { container: string; operation: CosmosOperation; count: number; requestUnits: number; bytes: number; estimated: number }>();

  readonly listener: RequestChargeListener = (c) => {
    const key = `${c.container}.${c.operation}`;
    const t = this.#totals.get(key) ?? { container: c.container, operation: c.operation, count: 0, requestUnits: 0, bytes: 0, estimated: 0 };
    t.count++;
    t.requestUnits += c.requestUnits;
    t.bytes += c.bytes;
    if (c.estimated) t.estimated++;
    this.#totals.set(key, t);
  };

  totals(): { container: string; operation: CosmosOperation; count: number; requestUnits: number; bytes: number; estimated: number }[] {
    return [...this.#totals.values()].map((t) => ({ ...t }));
  }

  get requestUnits(): number {
    let sum = 0;
    for (const t of this.#totals.values()) sum += t.requestUnits;
    return sum;
  }
}

export interface MeterOptions {
  /** False where the service's charge is a placeholder (the local test server): always estimate. */
  trustReportedCharge: boolean;
}

const sizeOf = (value: unknown): number => (value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value) ?? ''));

interface Charged {
  requestCharge?: number;
  headers?: Record<string, unknown>;
}

function reportedOf(source: Charged | undefined): number | undefined {
  const direct = source?.requestCharge;
  if (typeof direct === 'number' && Number.isFinite(direct)) return direct;
  const header = Number(source?.headers?.['x-ms-request-charge']);
  return Number.isFinite(header) ? header : undefined;
}

/** A Container whose item operations and query pages report their request charge. */
export function meterContainer(container: Container, name: string, listener: RequestChargeListener, options: MeterOptions): Container {
  const emit = (operation: CosmosOperation, source: Charged | undefined, bytes: number) => {
    const reported = options.trustReportedCharge ? reportedOf(source) : undefined;
    const requestUnits = reported ?? estimateRequestCharge(operation, bytes);
    try {
      listener({ container: name, operation, requestUnits, estimated: reported === undefined, bytes });
    } catch {
      // Accounting never fails a database operation.
    }
  };
  const metered = async <R extends Charged & { resource?: unknown }>(operation: CosmosOperation, body: unknown, call: () => Promise<R>): Promise<R> => {
    try {
      const response = await call();
      emit(operation, response, body === undefined ? sizeOf(response.resource) : sizeOf(body));
      return response;
    } catch (err) {
      emit(operation, err as Charged, 0); // a 404 read or a 409 create is charged too
      throw err;
    }
  };
  const items = bindAll(container.items, {
    upsert: (body: unknown, ...rest: unknown[]) => metered('write', body, () => (container.items.upsert as (...a: unknown[]) => Promise<Charged>)(body, ...rest)),
    create: (body: unknown, ...rest: unknown[]) => metered('write', body, () => (container.items.create as (...a: unknown[]) => Promise<Charged>)(body, ...rest)),
    query: (...args: unknown[]) => meterQuery((container.items.query as (...a: unknown[]) => object)(...args), emit),
  });
  const item = (id: string, partitionKey: unknown) => {
    const target = (container.item as (i: string, p: unknown) => object)(id, partitionKey);
    const call = (method: string, ...args: unknown[]) => (target as Record<string, (...a: unknown[]) => Promise<Charged>>)[method]!.apply(target, args);
    return bindAll(target, {
      read: (...args: unknown[]) => metered('read', undefined, () => call('read', ...args)),
      replace: (body: unknown, ...rest: unknown[]) => metered('write', body, () => call('replace', body, ...rest)),
      patch: (...args: unknown[]) => metered('write', undefined, () => call('patch', ...args)),
      delete: (...args: unknown[]) => metered('delete', undefined, () => call('delete', ...args)),
    });
  };
  return bindAll(container, { items, item }) as Container;
}

function meterQuery(iterator: object, emit: (operation: CosmosOperation, source: Charged | undefined, bytes: number) => void): object {
  const it = iterator as Record<string, (...a: unknown[]) => Promise<Charged & { resources?: unknown[] }>>;
  const page = (method: string) => async (...args: unknown[]) => {
    const response = await it[method]!.apply(iterator, args);
    emit('query', response, (response.resources ?? []).reduce<number>((s, r) => s + sizeOf(r), 0));
    return response;
  };
  return bindAll(iterator, { fetchNext: page('fetchNext'), fetchAll: page('fetchAll') });
}

/** A proxy answering `overrides` first and every other property from the target, bound to it. */
function bindAll<T extends object>(target: T, overrides: Record<string, unknown>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop];
      const value = Reflect.get(t, prop, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}
