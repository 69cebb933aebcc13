import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { generateApiKey, type ApiKeyRecord } from '../http/api-key-auth.js';

// The standalone server's operator key (used when no keys are configured). Only its SHA-256 is
// kept, in <data dir>/operator-key.json: the key is printed once, at the first start, and keeps
// working across restarts. Rotating (DISTILLERY_ROTATE_OPERATOR_KEY=true, or `distillery serve
// --rotate-operator-key`) makes a new one and the old one stops working.

export const OPERATOR_KEY_FILE = 'operator-key.json';

const fileSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
});

export interface OperatorKey {
  record: ApiKeyRecord;
  /** In clear only when it was made by this start (print it once). */
  key?: string;
  file: string;
  createdAt: string;
}

export function loadOrCreateOperatorKey(dataDir: string, options: { rotate?: boolean; now?: () => Date } = {}): OperatorKey {
  const file = path.join(dataDir, OPERATOR_KEY_FILE);
  if (!options.rotate && existsSync(file)) {
    const parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    // A damaged file is not silently replaced: the operator must choose to rotate.
    if (!parsed.success) throw new Error(`${file} is not a valid operator key file; restart with DISTILLERY_ROTATE_OPERATOR_KEY=true to make a new key.`);
    return { record: { tenant: '*', scopes: ['chat', 'admin'], sha256: parsed.data.sha256 }, file, createdAt: parsed.data.createdAt };
  }
  // The one generated key is the operator's: it sees every tenant.
  const { key, record } = generateApiKey('*', ['chat', 'admin']);
  const createdAt = (options.now?.() ?? new Date()).toISOString();
  // Written whole then renamed: a crash never leaves half a file; readable by the owner only.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ sha256: record.sha256, createdAt }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return { record, key, file, createdAt };
}
