import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { ensureCosmosContainers } from '../../src/adapters/cosmos/cosmos-containers.js';
import { createCosmosClient, parseCosmosConnectionString } from '../../src/adapters/cosmos/create-cosmos-client.js';
import { DistilleryError } from '../../src/core/errors.js';

describe('Cosmos DB containers', () => {
  it('creates the database and containers once, with partition keys, indexing and per-container TTL', async () => {
    const client = createCosmosClient(
      { connectionString: `AccountEndpoint=${inject('cosmosEndpoint')}/;AccountKey=${inject('cosmosKey')};` },
      { enableEndpointDiscovery: false },
    );
    const databaseId = `containers-${randomUUID().slice(0, 8)}`;
    const options = { databaseId, names: { pairs: 'pair-log' }, timeToLiveInSeconds: { pairs: 90 * 24 * 3600, jobs: 30 * 24 * 3600 } };
    const first = await ensureCosmosContainers(client, options);
    const again = await ensureCosmosContainers(client, options); // idempotent at every start
    expect(again.pairs.id).toBe('pair-log');
    const pairs = (await first.pairs.read()).resource!;
    expect(pairs.partitionKey?.paths).toEqual(['/pk']);
    expect(pairs.defaultTtl).toBe(90 * 24 * 3600);
    expect(pairs.indexingPolicy?.compositeIndexes?.[0]?.map((p) => p.path)).toEqual(['/ts', '/id']);
    expect(pairs.indexingPolicy?.excludedPaths?.map((p) => p.path)).toContain('/*');
    expect((await first.jobs.read()).resource!.partitionKey?.paths).toEqual(['/task']);
    expect((await first.jobs.read()).resource!.defaultTtl).toBe(30 * 24 * 3600);
    expect((await first.models.read()).resource!.partitionKey?.paths).toEqual(['/task']);
    expect((await first.pairCounters.read()).resource!.defaultTtl).toBeUndefined();
  });

  it('parses connection strings and refuses incomplete ones with a typed error', () => {
    expect(parseCosmosConnectionString('AccountEndpoint=https://acct.documents.azure.com:443/;AccountKey=abc==;')).toEqual({
      endpoint: 'https://acct.documents.azure.com:443/',
      key: 'abc==',
    });
    expect(() => parseCosmosConnectionString('AccountEndpoint=https://acct.documents.azure.com:443/;')).toThrow(DistilleryError);
  });
});
