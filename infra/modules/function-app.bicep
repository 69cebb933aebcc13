// The Function App on the Flex Consumption plan (Linux, Node 22; the runtime is set in
// functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not app
// settings here — Flex rejects them). It runs as the user-assigned identity for everything: host
// storage, the deployment package, Cosmos DB, Service Bus, artifacts, App Insights, Key Vault
// references and, through DefaultAzureCredential (AZURE_CLIENT_ID), the teacher.
//
// App setting names are exactly those src/config.ts `settingsSchema` reads, plus the host's own;
// test/unit/infra.test.ts checks both directions.

param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
param instanceMemoryMB int
param maximumInstanceCount int
param httpPerInstanceConcurrency int

param cosmosEndpoint string
param cosmosDatabaseName string
param pairTtlSeconds int
param serviceBusNamespace string
param jobsQueueName string
param jobMaxDeliveries int
param artifactContainerName string

param teacherProvider string
param teacherEndpoint string
param teacherBaseUrl string
param teacherDeployment string
param teacherApiVersion string
@description('Key Vault secret URI of the teacher key; empty when the teacher is called with Entra ID.')
param teacherApiKeySecretUri string

param apiKeySha256 string
param apiKeyTenant string
param corsOrigins string
param configFile string
param maxBodyBytes int
param redistillSchedule string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      // From the capacity model: docs/capacity.md.
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// azd deploys with the deployer's Entra token (OneDeploy): no FTP or SCM basic-auth credentials.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

// The first API key, stored hashed (the key itself never reaches Azure); more keys can be added to
// the app setting later.
var firstApiKey = [
  {
    tenant: apiKeyTenant
    scopes: [
      'chat'
      'admin'
    ]
    sha256: toLower(apiKeySha256)
  }
]

// Read by the Functions host (and by libraries), not by settingsSchema.
var hostSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Local auth is off on App Insights: the host sends its telemetry with the identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // DefaultAzureCredential (teacher calls with Entra ID) picks the user-assigned identity by this.
  AZURE_CLIENT_ID: identityClientId
}

// Read by src/config.ts settingsSchema (APPLICATIONINSIGHTS_CONNECTION_STRING by both).
var distillerySettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  DISTILLERY_CONFIG_FILE: configFile
  // The package is mounted read-only on Flex; /tmp is the writable scratch (ONNX model cache).
  DISTILLERY_DATA_DIR: '/tmp/distillery'
  // Outbox of pair records while Cosmos DB is unreachable. Instance-local on Flex: it survives a
  // store outage, not the recycling of the instance.
  DISTILLERY_SPOOL_DIR: '/tmp/distillery/pair-spool'
  DISTILLERY_API_KEYS: empty(apiKeySha256) ? '' : string(firstApiKey)
  DISTILLERY_MAX_BODY_BYTES: string(maxBodyBytes)
  // The host already holds requests beyond perInstanceConcurrency; the process cap sits above it
  // so that only a runaway (streams held open) is refused with 503.
  DISTILLERY_MAX_IN_FLIGHT: '400' // about 2 × httpPerInstanceConcurrency (190)
  // Pairs of answered responses reach the outbox within ~10 ms; write-ahead costs ~1 ms a request.
  DISTILLERY_PAIR_DURABILITY: 'batched'
  DISTILLERY_PAIR_QUEUE_MAX: '10000'
  // Flex Consumption gives an instance being drained a grace period; finish within it.
  DISTILLERY_SHUTDOWN_TIMEOUT_MS: '10000'
  DISTILLERY_CORS_ORIGINS: corsOrigins
  DISTILLERY_STORE: 'cosmos'
  DISTILLERY_QUEUE: 'servicebus'
  DISTILLERY_ARTIFACTS: 'blob'
  CosmosDb__accountEndpoint: cosmosEndpoint
  CosmosDb__credential: 'managedidentity'
  CosmosDb__clientId: identityClientId
  DISTILLERY_COSMOS_DATABASE: cosmosDatabaseName
  DISTILLERY_PAIR_TTL_SECONDS: string(pairTtlSeconds)
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusNamespace
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  DISTILLERY_JOBS_QUEUE: jobsQueueName
  DISTILLERY_JOB_MAX_DELIVERIES: string(jobMaxDeliveries)
  ArtifactStorage__blobServiceUri: storageBlobEndpoint
  ArtifactStorage__credential: 'managedidentity'
  ArtifactStorage__clientId: identityClientId
  DISTILLERY_ARTIFACT_CONTAINER: artifactContainerName
  DISTILLERY_TEACHER_PROVIDER: teacherProvider
  DISTILLERY_TEACHER_ENDPOINT: teacherEndpoint
  DISTILLERY_TEACHER_BASE_URL: teacherBaseUrl
  DISTILLERY_TEACHER_DEPLOYMENT: teacherDeployment
  DISTILLERY_TEACHER_API_VERSION: teacherApiVersion
  DISTILLERY_REDISTILL_SCHEDULE: redistillSchedule
}

// Only with a key: a Key Vault reference, never the key itself.
var teacherKeySettings = empty(teacherApiKeySecretUri) ? {} : { DISTILLERY_TEACHER_API_KEY: '@Microsoft.KeyVault(SecretUri=${teacherApiKeySecretUri})' }

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(hostSettings, distillerySettings, teacherKeySettings)
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
