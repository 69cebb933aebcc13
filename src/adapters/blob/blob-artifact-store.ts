import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient, RestError, type ContainerClient } from '@azure/storage-blob';
import { DistilleryError } from '../../core/errors.js';
import type { ArtifactStore, OperationOptions } from '../../core/ports.js';
import { checkArtifactPath, checkArtifactPrefix } from '../shared/check-artifact-path.js';

// ArtifactStore on Azure Blob Storage: one container, artifact paths as blob names. Block blob
// uploads commit atomically, so readers never see a partial model. The container is created on
// first use if absent.

export type BlobArtifactStoreOptions = { containerName: string } & (
  | { connectionString: string }
  | { blobServiceUri: string; credential: TokenCredential }
  | { serviceClient: BlobServiceClient }
);

export class BlobArtifactStore implements ArtifactStore {
  readonly #container: ContainerClient;
  #ready: Promise<void> | undefined;

  constructor(options: BlobArtifactStoreOptions) {
    if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/u.test(options.containerName)) {
      throw new DistilleryError(`Invalid blob container name '${options.containerName}'.`, {
        status: 500,
        type: 'server_error',
        code: 'invalid_configuration',
      });
    }
    const service =
      'serviceClient' in options
        ? options.serviceClient
        : 'connectionString' in options
          ? BlobServiceClient.fromConnectionString(options.connectionString)
          : new BlobServiceClient(options.blobServiceUri, options.credential);
    this.#container = service.getContainerClient(options.containerName);
  }

  async upsert(path: string, data: Uint8Array | string, options?: OperationOptions & { contentType?: string }): Promise<void> {
    checkArtifactPath(path);
    await this.#ensureContainer(options);
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.#container.getBlockBlobClient(path).uploadData(body, {
      abortSignal: options?.abortSignal,
      blobHTTPHeaders: {
        blobContentType: options?.contentType ?? (typeof data === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream'),
      },
    });
  }

  async get(path: string, options?: OperationOptions): Promise<Uint8Array | undefined> {
    checkArtifactPath(path);
    try {
      const buf = await this.#container.getBlobClient(path).downloadToBuffer(undefined, undefined, { abortSignal: options?.abortSignal });
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async *list(prefix: string, options?: OperationOptions): AsyncIterable<string> {
    checkArtifactPrefix(prefix);
    try {
      for await (const blob of this.#container.listBlobsFlat({ prefix: prefix || undefined, abortSignal: options?.abortSignal })) {
        yield blob.name;
      }
    } catch (err) {
      if (isNotFound(err)) return; // no container yet: nothing stored
      throw err;
    }
  }

  async delete(path: string, options?: OperationOptions): Promise<void> {
    checkArtifactPath(path);
    try {
      await this.#container.getBlobClient(path).deleteIfExists({ abortSignal: options?.abortSignal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  #ensureContainer(options?: OperationOptions): Promise<void> {
    this.#ready ??= this.#container.createIfNotExists({ abortSignal: options?.abortSignal }).then(
      () => undefined,
      (err: unknown) => {
        this.#ready = undefined; // retry on the next write
        throw err;
      },
    );
    return this.#ready;
  }
}

const isNotFound = (err: unknown) => err instanceof RestError && err.statusCode === 404;
