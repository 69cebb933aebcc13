import type { OperationOptions } from '../ports.js';

// Keys created through the API (POST /admin/keys) live in a store beside the other records; keys
// from configuration (DISTILLERY_API_KEYS) and the standalone operator key do not. A key is kept
// only as its SHA-256 digest: the key itself is shown once, when it is created, and never again.

/** `metrics`: may read GET /metrics only (a Prometheus scraper). */
export type KeyScope = 'chat' | 'admin' | 'metrics';

export interface StoredApiKey {
  /** Stable public id: the first 12 hex characters of the digest (what logs and pair records carry). */
  id: string;
  /** Hex SHA-256 of the key. */
  sha256: string;
  tenant: string;
  scopes: KeyScope[];
  /** A label for people ("ci", "alice's notebook"). */
  name?: string;
  ratePerSecond?: number;
  /** ISO time. */
  createdAt: string;
  /** ISO time of the last authenticated request (updated at most once a minute per key and process). */
  lastUsedAt?: string;
}

export interface ApiKeyStore {
  /** Refuses (409) a digest or id that exists already. */
  create(key: StoredApiKey, options?: OperationOptions): Promise<void>;
  /** By digest: the authentication path. */
  getByDigest(sha256: string, options?: OperationOptions): Promise<StoredApiKey | undefined>;
  list(options?: OperationOptions): AsyncIterable<StoredApiKey>;
  /** True when a key was deleted. */
  delete(id: string, options?: OperationOptions): Promise<boolean>;
  /** Records use; never moves lastUsedAt backwards. */
  touch(id: string, at: string, options?: OperationOptions): Promise<void>;
  close(): Promise<void>;
}

/** The public id of a key digest: short enough to read, long enough never to collide in practice (48 bits). */
export const keyIdOf = (sha256: string): string => sha256.slice(0, 12);
