import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { keyIdOf, type ApiKeyStore, type StoredApiKey } from '../core/keys/api-key-store.js';

// API keys are kept only as SHA-256 digests. Verification hashes the presented key and compares
// it with every stored digest using timingSafeEqual, without stopping at the first match, so the
// time taken says nothing about which key (or how much of one) matched. Keys created through the
// API live in an ApiKeyStore and are found by digest (an exact lookup of a hash reveals nothing
// about the key); answers are cached for KEY_CACHE_TTL_MS, so a revoked key stops working on
// other instances within that time (at once on the instance that revoked it).

/** `metrics`: a key that may read GET /metrics only (Prometheus). */
export type Scope = 'chat' | 'admin' | 'metrics';

export interface ApiKeyRecord {
  tenant: string;
  scopes: Scope[];
  sha256: string;
  ratePerSecond?: number;
}

export interface Principal {
  tenant: string;
  scopes: ReadonlySet<Scope>;
  /** Stable id of the key (a prefix of its digest) for rate limiting and logs; never the key. */
  keyId: string;
  ratePerSecond?: number;
}

// crypto.hash (Node ≥ 20.12) is the one-shot form: no Hash object per request.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex' | 'buffer') => string | Buffer }).hash;
const sha256 = (key: string, encoding: 'hex' | 'buffer') =>
  oneShot ? oneShot('sha256', key, encoding) : createHash('sha256').update(key, 'utf8').digest(encoding === 'hex' ? 'hex' : undefined as never);

export const hashApiKey = (key: string): string => sha256(key, 'hex') as string;

/** A new random key in the `dk-` format, with its record. */
export function generateApiKey(tenant: string, scopes: Scope[]): { key: string; record: ApiKeyRecord } {
  const key = `dk-${randomBytes(24).toString('base64url')}`;
  return { key, record: { tenant, scopes, sha256: hashApiKey(key) } };
}

export const KEY_CACHE_TTL_MS = 30_000;
/** Bound on cached lookups (unknown keys included): a flood of random keys cannot grow memory. */
const KEY_CACHE_MAX = 10_000;
/** lastUsedAt is written at most this often per key and process. */
const TOUCH_INTERVAL_MS = 60_000;

export interface ApiKeyAuthenticatorOptions {
  store?: ApiKeyStore;
  now?: () => number;
  /** A failed lastUsedAt write (never fails the request). */
  onStoreError?: (err: unknown) => void;
}

export class ApiKeyAuthenticator {
  /** Each configured key's principal, built once: a request gets the same frozen object. */
  private readonly digests: { digest: Buffer; principal: Principal }[];
  private readonly cache = new Map<string, { key: StoredApiKey | undefined; at: number }>();
  private readonly touched = new Map<string, number>();
  private readonly now: () => number;

  constructor(records: readonly ApiKeyRecord[], private readonly options: ApiKeyAuthenticatorOptions = {}) {
    this.digests = records.map((record) => ({ digest: Buffer.from(record.sha256, 'hex'), principal: principalOf(record) }));
    this.now = options.now ?? Date.now;
  }

  /** Configured keys first, then the key store (cached). */
  async authenticate(presentedKey: string | undefined): Promise<Principal | undefined> {
    const configured = this.verify(presentedKey);
    if (configured || !presentedKey || !this.options.store) return configured;
    const digest = sha256(presentedKey, 'hex') as string;
    const stored = await this.lookup(digest);
    if (!stored) return undefined;
    this.touch(stored.id);
    return {
      tenant: stored.tenant,
      scopes: new Set(stored.scopes),
      keyId: stored.id,
      ...(stored.ratePerSecond ? { ratePerSecond: stored.ratePerSecond } : {}),
    };
  }

  /** Drops cached answers (after a key is created or revoked on this instance). */
  forget(): void {
    this.cache.clear();
  }

  private async lookup(digest: string): Promise<StoredApiKey | undefined> {
    const now = this.now();
    const hit = this.cache.get(digest);
    if (hit && now - hit.at < KEY_CACHE_TTL_MS) return hit.key;
    const key = await this.options.store!.getByDigest(digest);
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, { key, at: now });
    return key;
  }

  private touch(id: string): void {
    const now = this.now();
    if (now - (this.touched.get(id) ?? -Infinity) < TOUCH_INTERVAL_MS) return;
    if (this.touched.size >= KEY_CACHE_MAX) this.touched.clear();
    this.touched.set(id, now);
    this.options.store!.touch(id, new Date(now).toISOString()).catch((err: unknown) => this.options.onStoreError?.(err));
  }

  get size(): number {
    return this.digests.length;
  }

  verify(presentedKey: string | undefined): Principal | undefined {
    if (!presentedKey) return undefined;
    const digest = sha256(presentedKey, 'buffer') as Buffer;
    // Every digest is compared (no early exit): the time says nothing about which key matched.
    let matched: Principal | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(entry.digest, digest) && !matched) matched = entry.principal;
    }
    return matched;
  }
}

/** Shared by every request of the key: frozen (its scopes are a ReadonlySet to callers). */
function principalOf(record: ApiKeyRecord): Principal {
  return Object.freeze({
    tenant: record.tenant,
    scopes: new Set(record.scopes),
    keyId: keyIdOf(record.sha256),
    ...(record.ratePerSecond ? { ratePerSecond: record.ratePerSecond } : {}),
  });
}

/** The key from `Authorization: Bearer …` (OpenAI clients) or `api-key` (Azure OpenAI clients). */
export function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1]!.trim() : undefined;
  }
  return headers.get('api-key')?.trim() || undefined;
}
