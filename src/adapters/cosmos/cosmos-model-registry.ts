import type { Container } from '@azure/cosmos';
import { DistilleryError, invalidRequest, notFound } from '../../core/errors.js';
import type { ModelRegistry, ModelVersion, OperationOptions } from '../../core/ports.js';
import { cosmosFailure, statusOf, withCosmosRetry } from './cosmos-retry.js';
import { checkNewVersion, checkTask, checkVersionNumber, nothingToRollBack, type NewVersion } from '../shared/check-model-version.js';

const HEAD_ID = 'head';
const versionId = (n: number) => `v${n}`;

// ModelRegistry on Cosmos DB, partition key /task. Version documents are written once and never
// change; everything that changes — the next version number, which version is promoted, when each
// was promoted, the promotion history that rollback walks back through — lives in one `head`
// document per task, replaced with IfMatch. One conditional write per change means there is never
// a moment with two promoted versions, whatever runs concurrently: the losers of a race re-read
// the head and try again. A version's state is derived from the head when it is read.

export interface CosmosModelRegistryOptions {
  /** The `models` container (partition key /task). */
  models: Container;
  now?: () => Date;
  /** Attempts of a head update that keeps losing races. */
  maxConflictRetries?: number;
}


interface HeadDocument {
  id: 'head';
  task: string;
  type: 'head';
  lastVersion: number;
  promoted?: number;
  /** Promotion stack: promote pushes, rollback pops. */
  history: number[];
  /** ISO time each version was last promoted (a version listed here and not promoted is retired). */
  promotedAt: Record<string, string>;
  _etag?: string;
}

interface VersionDocument {
  id: string;
  task: string;
  type: 'version';
  version: number;
  record: Omit<ModelVersion, 'state' | 'etag' | 'promotedAt'>;
}


class HeadConflict extends Error {}

export class CosmosModelRegistry implements ModelRegistry {
  readonly #models: Container;
  readonly #now: () => Date;
  readonly #maxConflictRetries: number;

  constructor(options: CosmosModelRegistryOptions) {
    this.#models = options.models;
    this.#now = options.now ?? (() => new Date());
    this.#maxConflictRetries = Math.max(1, options.maxConflictRetries ?? 100);
  }

  async create(version: NewVersion, options?: OperationOptions): Promise<ModelVersion> {
    options?.abortSignal?.throwIfAborted();
    checkNewVersion(version);
    let copy: NewVersion;
    try {
      const { etag: _etag, promotedAt: _p, ...rest } = version as NewVersion & { etag?: string; promotedAt?: string };
      copy = JSON.parse(JSON.stringify(rest)) as NewVersion;
    } catch (err) {
      throw invalidRequest(`The model version is not serializable: ${(err as Error).message}`);
    }
    const head = await this.#updateHead(version.task, (h) => ({ ...h, lastVersion: h.lastVersion + 1 }), options);
    const n = head.lastVersion;
    const doc: VersionDocument = {
      id: versionId(n),
      task: version.task,
      type: 'version',
      version: n,
      record: { ...copy, id: `${version.task}@${n}`, task: version.task, version: n, createdAt: this.#now().toISOString() },
    };
    try {
      await withCosmosRetry(() => this.#models.items.create(doc, { abortSignal: options?.abortSignal }), { abortSignal: options?.abortSignal });
    } catch (err) {
      throw cosmosFailure('model version create', err);
    }
    return compose(doc, head);
  }

  async get(task: string, version: number, options?: OperationOptions): Promise<ModelVersion | undefined> {
    checkTask(task);
    checkVersionNumber(version);
    options?.abortSignal?.throwIfAborted();
    const [doc, head] = await Promise.all([this.#readVersion(task, version, options), this.#readHead(task, options)]);
    return doc && head ? compose(doc, head) : undefined;
  }

  async *list(task: string, options?: OperationOptions): AsyncIterable<ModelVersion> {
    checkTask(task);
    const head = await this.#readHead(task, options);
    if (head === undefined) return;
    let continuationToken: string | undefined;
    do {
      options?.abortSignal?.throwIfAborted();
      const iterator = this.#models.items.query<VersionDocument>(
        {
          query: 'SELECT * FROM c WHERE c.task = @task AND c.type = @type ORDER BY c.version DESC',
          parameters: [
            { name: '@task', value: task },
            { name: '@type', value: 'version' },
          ],
        },
        { partitionKey: task, maxItemCount: 100, continuationToken, abortSignal: options?.abortSignal },
      );
      let page;
      try {
        page = await withCosmosRetry(() => iterator.fetchNext(), { abortSignal: options?.abortSignal });
      } catch (err) {
        throw cosmosFailure('model version query', err);
      }
      for (const doc of page.resources) yield compose(doc, head);
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  async getPromoted(task: string, options?: OperationOptions): Promise<ModelVersion | undefined> {
    checkTask(task);
    options?.abortSignal?.throwIfAborted();
    const head = await this.#readHead(task, options);
    if (head?.promoted === undefined) return undefined;
    const doc = await this.#readVersion(task, head.promoted, options);
    return doc ? compose(doc, head) : undefined;
  }

  async promote(task: string, version: number, options?: OperationOptions): Promise<ModelVersion> {
    checkTask(task);
    checkVersionNumber(version);
    options?.abortSignal?.throwIfAborted();
    const doc = await this.#readVersion(task, version, options);
    if (doc === undefined) throw notFound(`Model version '${task}@${version}' does not exist.`, 'model_version_not_found', 'version');
    const head = await this.#updateHead(
      task,
      (h) =>
        h.promoted === version
          ? undefined // idempotent: a retried promote changes nothing
          : { ...h, promoted: version, history: [...h.history, version], promotedAt: { ...h.promotedAt, [version]: this.#now().toISOString() } },
      options,
    );
    return compose(doc, head);
  }

  async rollback(task: string, options?: OperationOptions): Promise<ModelVersion> {
    checkTask(task);
    options?.abortSignal?.throwIfAborted();
    const head = await this.#updateHead(
      task,
      (h) => {
        if (h.promoted === undefined) throw nothingToRollBack(task);
        const history = [...h.history];
        while (history.length > 0 && history[history.length - 1] === h.promoted) history.pop();
        const previous = history[history.length - 1];
        if (previous === undefined) throw nothingToRollBack(task);
        return { ...h, promoted: previous, history, promotedAt: { ...h.promotedAt, [previous]: this.#now().toISOString() } };
      },
      options,
      false,
    );
    const doc = await this.#readVersion(task, head.promoted!, options);
    if (doc === undefined) throw notFound(`Model version '${task}@${head.promoted}' does not exist.`, 'model_version_not_found');
    return compose(doc, head);
  }

  // --- head --------------------------------------------------------------------------------------

  /**
   * Applies `change` to the task's head with IfMatch, re-reading and re-applying after a lost race.
   * `change` returning undefined means "nothing to do"; throwing aborts without writing.
   */
  async #updateHead(
    task: string,
    change: (head: HeadDocument) => HeadDocument | undefined,
    options?: OperationOptions,
    createIfMissing = true,
  ): Promise<HeadDocument> {
    for (let attempt = 0; attempt < this.#maxConflictRetries; attempt++) {
      options?.abortSignal?.throwIfAborted();
      const current = await this.#readHead(task, options);
      const base: HeadDocument = current ?? { id: HEAD_ID, task, type: 'head', lastVersion: 0, history: [], promotedAt: {} };
      if (current === undefined && !createIfMissing) change(base); // throws the domain error
      const next = change(base);
      if (next === undefined) return base;
      const { _etag, ...body } = next;
      try {
        const result =
          current === undefined
            ? await withCosmosRetry(() => this.#models.items.create(body, { abortSignal: options?.abortSignal }), { abortSignal: options?.abortSignal })
            : await withCosmosRetry(
                () =>
                  this.#models.item(HEAD_ID, task).replace(body, {
                    accessCondition: { type: 'IfMatch', condition: current._etag! },
                    abortSignal: options?.abortSignal,
                  }),
                { abortSignal: options?.abortSignal },
              );
        return result.resource as unknown as HeadDocument;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || status === 409) {
          // Lost a race: back off a little (jittered) so racing writers spread out, then re-read.
          await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
          continue;
        }
        throw cosmosFailure('model registry update', err);
      }
    }
    throw new DistilleryError(`Too many concurrent changes to the model registry of task '${task}'.`, {
      status: 409,
      type: 'conflict_error',
      code: 'etag_mismatch',
      retryable: true,
    });
  }

  async #readHead(task: string, options?: OperationOptions): Promise<HeadDocument | undefined> {
    return this.#read<HeadDocument>(HEAD_ID, task, options);
  }

  async #readVersion(task: string, version: number, options?: OperationOptions): Promise<VersionDocument | undefined> {
    return this.#read<VersionDocument>(versionId(version), task, options);
  }

  async #read<T>(id: string, task: string, options?: OperationOptions): Promise<T | undefined> {
    try {
      const { resource } = await withCosmosRetry(() => this.#models.item(id, task).read({ abortSignal: options?.abortSignal }), {
        abortSignal: options?.abortSignal,
      });
      return resource === undefined || (resource as { task?: string }).task !== task ? undefined : (resource as unknown as T);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw cosmosFailure('model registry read', err);
    }
  }
}

function compose(doc: VersionDocument, head: HeadDocument): ModelVersion {
  const promotedAt = head.promotedAt[String(doc.version)];
  const state: ModelVersion['state'] = head.promoted === doc.version ? 'promoted' : promotedAt !== undefined ? 'retired' : 'candidate';
  return { ...(doc.record as ModelVersion), state, ...(promotedAt === undefined ? {} : { promotedAt }), etag: head._etag };
}
