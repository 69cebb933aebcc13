import { CosmosClient, type CosmosClientOptions } from '@azure/cosmos';
import type { TokenCredential } from '@azure/identity';
import { DistilleryError } from '../../core/errors.js';

// Builds a CosmosClient from either a connection string / key or an identity (the Functions
// `…__accountEndpoint` style with DefaultAzureCredential). Endpoint discovery is off when asked
// (the local test server has a single region and advertises addresses the client cannot reach).

export type CosmosConnection =
  | { connectionString: string }
  | { endpoint: string; key: string }
  | { endpoint: string; credential: TokenCredential };

export function createCosmosClient(
  connection: CosmosConnection,
  options: { enableEndpointDiscovery?: boolean; extra?: Partial<CosmosClientOptions> } = {},
): CosmosClient {
  const connectionPolicy = { enableEndpointDiscovery: options.enableEndpointDiscovery ?? true };
  if ('connectionString' in connection) {
    return new CosmosClient({ ...parseCosmosConnectionString(connection.connectionString), connectionPolicy, ...options.extra });
  }
  if ('key' in connection) return new CosmosClient({ endpoint: connection.endpoint, key: connection.key, connectionPolicy, ...options.extra });
  return new CosmosClient({ endpoint: connection.endpoint, aadCredentials: connection.credential, connectionPolicy, ...options.extra });
}

export function parseCosmosConnectionString(value: string): { endpoint: string; key: string } {
  const parts = new Map(
    value
      .split(';')
      .filter((p) => p.includes('='))
      .map((p) => {
        const i = p.indexOf('=');
        return [p.slice(0, i).trim().toLowerCase(), p.slice(i + 1).trim()] as const;
      }),
  );
  const endpoint = parts.get('accountendpoint');
  const key = parts.get('accountkey');
  if (!endpoint || !key) {
    throw new DistilleryError('A Cosmos DB connection string needs AccountEndpoint and AccountKey.', {
      status: 500,
      type: 'server_error',
      code: 'invalid_configuration',
    });
  }
  return { endpoint, key };
}
