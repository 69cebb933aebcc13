import type { Container } from '@azure/cosmos';
import { DistilleryError } from '../../core/errors.js';
import type { ApiKeyStore, StoredApiKey } from '../../core/keys/api-key-store.js';
import type { OperationOptions } from '../../core/ports.js';
import { cosmosFailure, statusOf, withCosmosRetry } from './cosmos-retry.js';

// ApiKeyStore on Cosmos DB: one document per key in the `api-keys` container, partition key /id
// with the digest as the item id, so authentication is a point read (1 RU). Listing and revoking
// by public id query across partitions: they are operator actions over a handful of keys.

interface KeyDocument extends Omit<StoredApiKey, 'id'> {
  /** The digest (item id and partition key). */
  id: string;
  keyId: string;
}

const toDocument = (key: StoredApiKey): KeyDocument => {
  const { id, ...rest } = key;
  return { ...rest, id: key.sha256, keyId: id };
};
const fromDocument = (doc: KeyDocument): StoredApiKey => {
  const { id: _digest, keyId, _rid, _self, _etag, _attachments, _ts, ...rest } = doc as KeyDocument & Record<string, unknown>;
  return { ...(rest as Omit<StoredApiKey, 'id'>), id: keyId };
};

export class CosmosApiKeyStore implements ApiKeyStore {
  constructor(private readonly container: Container) {}

  async create(key: StoredApiKey, options?: OperationOptions): Promise<void> {
    const retry = options?.abortSignal ? { abortSignal: options.abortSignal } : {};
    const existing = await this.#byKeyId(key.id, options);
    if (existing) throw conflict(key.id);
    try {
      await withCosmosRetry(() => this.container.items.create(toDocument(key)), retry);
    } catch (err) {
      if (statusOf(err) === 409) throw conflict(key.id);
      throw cosmosFailure('api key create', err);
    }
  }

  async getByDigest(sha256: string, options?: OperationOptions): Promise<StoredApiKey | undefined> {
    const retry = options?.abortSignal ? { abortSignal: options.abortSignal } : {};
    try {
      const { resource } = await withCosmosRetry(() => this.container.item(sha256, sha256).read<KeyDocument>(), retry);
      return resource ? fromDocument(resource) : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw cosmosFailure('api key read', err);
    }
  }

  async *list(options?: OperationOptions): AsyncIterable<StoredApiKey> {
    const retry = options?.abortSignal ? { abortSignal: options.abortSignal } : {};
    const { resources } = await withCosmosRetry(() => this.container.items.query<KeyDocument>('SELECT * FROM c').fetchAll(), retry).catch((err: unknown) => {
      throw cosmosFailure('api key list', err);
    });
    resources.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
    for (const doc of resources) yield fromDocument(doc);
  }

  async delete(id: string, options?: OperationOptions): Promise<boolean> {
    const doc = await this.#byKeyId(id, options);
    if (!doc) return false;
    try {
      await withCosmosRetry(() => this.container.item(doc.id, doc.id).delete(), options?.abortSignal ? { abortSignal: options.abortSignal } : {});
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw cosmosFailure('api key delete', err);
    }
  }

  async touch(id: string, at: string, options?: OperationOptions): Promise<void> {
    const retry = options?.abortSignal ? { abortSignal: options.abortSignal } : {};
    // Conditional on the etag read: of two instances touching at once, the one whose read went
    // stale reads again, so lastUsedAt never moves backwards (last writer wins would let it).
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await this.#byKeyId(id, options);
      if (!doc || (doc.lastUsedAt && doc.lastUsedAt >= at)) return;
      const etag = (doc as KeyDocument & { _etag?: string })._etag;
      try {
        await withCosmosRetry(() => this.container.item(doc.id, doc.id).replace({ ...doc, lastUsedAt: at }, etag ? { accessCondition: { type: 'IfMatch', condition: etag } } : {}), retry);
        return;
      } catch (err) {
        const status = statusOf(err);
        if (status === 404) return;
        if (status !== 412) throw cosmosFailure('api key touch', err);
      }
    }
  }

  async #byKeyId(id: string, options?: OperationOptions): Promise<KeyDocument | undefined> {
    const query = { query: 'SELECT * FROM c WHERE c.keyId = @id', parameters: [{ name: '@id', value: id }] };
    const { resources } = await withCosmosRetry(() => this.container.items.query<KeyDocument>(query).fetchAll(), options?.abortSignal ? { abortSignal: options.abortSignal } : {}).catch(
      (err: unknown) => {
        throw cosmosFailure('api key query', err);
      },
    );
    return resources[0];
  }

  async close(): Promise<void> {}
}

const conflict = (id: string) => new DistilleryError(`A key with id '${id}' exists already.`, { status: 409, type: 'conflict_error', code: 'key_exists' });

/** The container definition (created at start beside the others when the store is Cosmos DB). */
export const apiKeysContainerDefinition = (id = 'api-keys') => ({ id, partitionKey: { paths: ['/id'] } });
