import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { ArtifactStore, OperationOptions } from '../../core/ports.js';
import { checkArtifactPath, checkArtifactPrefix } from '../shared/check-artifact-path.js';

// The embedded ArtifactStore: one folder, artifact paths as relative file paths. Writes go to a
// temporary file then rename into place, so a reader sees the old bytes or the new ones, never a
// half-written model.

export interface FsArtifactStoreOptions {
  root: string;
}

const TMP_SUFFIX = '.tmp-';

export class FsArtifactStore implements ArtifactStore {
  readonly root: string;

  constructor(options: FsArtifactStoreOptions) {
    this.root = options.root;
  }

  async upsert(path: string, data: Uint8Array | string, options?: OperationOptions & { contentType?: string }): Promise<void> {
    const file = this.#file(path);
    options?.abortSignal?.throwIfAborted();
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}${TMP_SUFFIX}${randomUUID()}`;
    try {
      await writeFile(tmp, data, { signal: options?.abortSignal });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(path: string, options?: OperationOptions): Promise<Uint8Array | undefined> {
    const file = this.#file(path);
    try {
      const buf = await readFile(file, { signal: options?.abortSignal });
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async *list(prefix: string, options?: OperationOptions): AsyncIterable<string> {
    checkArtifactPrefix(prefix);
    const found: string[] = [];
    // Walk only the deepest folder the prefix names, not the whole store.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await this.#walk(join(this.root, ...folder.split('/').filter(Boolean)), found, options);
    found.sort();
    for (const p of found) if (p.startsWith(prefix)) yield p;
  }

  async delete(path: string, options?: OperationOptions): Promise<void> {
    const file = this.#file(path);
    options?.abortSignal?.throwIfAborted();
    try {
      await unlink(file);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  async #walk(dir: string, out: string[], options?: OperationOptions): Promise<void> {
    options?.abortSignal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await this.#walk(full, out, options);
      else if (e.isFile() && !e.name.includes(TMP_SUFFIX)) out.push(relative(this.root, full).split(sep).join('/'));
    }
  }

  #file(path: string): string {
    checkArtifactPath(path);
    return join(this.root, ...path.split('/'));
  }
}

const isMissing = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
};
