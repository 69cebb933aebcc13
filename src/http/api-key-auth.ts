import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// API keys are kept only as SHA-256 digests. Verification hashes the presented key and compares
// it with every stored digest using timingSafeEqual, without stopping at the first match, so the
// time taken says nothing about which key (or how much of one) matched.

export type Scope = 'chat' | 'admin';

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

export class ApiKeyAuthenticator {
  private readonly digests: { digest: Buffer; record: ApiKeyRecord }[];

  constructor(records: readonly ApiKeyRecord[]) {
    this.digests = records.map((record) => ({ digest: Buffer.from(record.sha256, 'hex'), record }));
  }

  get size(): number {
    return this.digests.length;
  }

  verify(presentedKey: string | undefined): Principal | undefined {
    if (!presentedKey) return undefined;
    const digest = sha256(presentedKey, 'buffer') as Buffer;
    let found: ApiKeyRecord | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(entry.digest, digest) && !found) found = entry.record;
    }
    if (!found) return undefined;
    return {
      tenant: found.tenant,
      scopes: new Set(found.scopes),
      keyId: found.sha256.slice(0, 12),
      ...(found.ratePerSecond ? { ratePerSecond: found.ratePerSecond } : {}),
    };
  }
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
