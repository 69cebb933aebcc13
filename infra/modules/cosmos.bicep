// Cosmos DB for NoSQL, serverless (pay per request: pair logging is bursty and idle most hours).
// Containers, partition keys and indexing policies come from cosmos-containers.json, a copy of
// containerDefinitions() in src/adapters/cosmos/cosmos-containers.ts that test/unit/infra.test.ts
// compares with the code. Key auth is off (disableLocalAuth): the adapters connect with
// CosmosDb__accountEndpoint + the managed identity, and a data-plane identity cannot create
// containers, so every container the code opens must exist here.

param name string
param location string
param tags object
param databaseName string
@description('Default TTL of the pairs container in seconds. -1 turns TTL on without expiring anything, so a per-item ttl (DISTILLERY_PAIR_TTL_SECONDS) still takes effect.')
param pairTtlSeconds int
param principalId string

// Cosmos DB Built-in Data Contributor (data plane: read/write items, read metadata; no control plane).
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'
var containers = loadJsonContent('cosmos-containers.json')

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    capabilities: [{ name: 'EnableServerless' }]
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: { id: databaseName }
  }
}

// pair-counters never expires whatever the pairs' retention (see cosmos-containers.ts), so only
// the pairs container gets a default TTL.
resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for c in items(containers): {
    parent: database
    name: c.value.id
    properties: {
      resource: union(
        c.value,
        { partitionKey: union(c.value.partitionKey, { kind: 'Hash', version: 2 }) },
        c.key == 'pairs' ? { defaultTtl: pairTtlSeconds } : {}
      )
    }
  }
]

resource dataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, principalId, cosmosDataContributor)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    principalId: principalId
    // The database, not the account: the identity reaches nothing else the account may hold later.
    scope: '${account.id}/dbs/${databaseName}'
  }
  dependsOn: [database]
}

output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
