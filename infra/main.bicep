targetScope = 'subscription'

// Distillery on Azure, for `azd up`: a Function App on the Flex Consumption plan in front of Cosmos
// DB (pairs, jobs, model registry), Service Bus (distillation jobs) and Blob Storage (artifacts),
// with Application Insights. Every data-plane connection uses one user-assigned managed identity
// with the narrowest built-in roles; no account keys, SAS or connection strings with secrets are
// created, stored or output (Cosmos DB, Service Bus, Storage and App Insights have local auth off).
// The defaults below equal the defaults of `settingsSchema` in src/config.ts (test/unit/infra.test.ts
// keeps them in step).

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and seeds the unique resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string

// --- Teacher -----------------------------------------------------------------------------------

@description('Teacher provider: azure-openai (an Azure OpenAI deployment) or openai (any OpenAI-compatible base URL, e.g. an Azure AI Foundry model deployment). Empty: inferred from which URL is set.')
@allowed(['', 'azure-openai', 'openai'])
param teacherProvider string = ''

@description('Azure OpenAI endpoint of the teacher, https://<resource>.openai.azure.com/ (provider azure-openai).')
param teacherEndpoint string = ''

@description('OpenAI-compatible base URL of the teacher, e.g. https://<resource>.services.ai.azure.com/models for Foundry models (provider openai).')
param teacherBaseUrl string = ''

@description('Azure OpenAI deployment name, or Foundry model deployment name (e.g. DeepSeek-V3), of the teacher.')
param teacherDeployment string = ''

@description('Azure OpenAI API version used for the teacher; empty keeps the code default.')
param teacherApiVersion string = ''

@secure()
@description('Teacher API key. Leave empty (recommended) to call the teacher with the app identity through Entra ID; when set, it is stored in Key Vault and the app setting is a Key Vault reference.')
param teacherApiKey string = ''

@description('Name of the teacher\'s Azure OpenAI / AI Services account, to grant the app identity keyless access to it. Empty: grant the role yourself.')
param teacherAccountName string = ''

@description('Resource group of teacherAccountName (same subscription). Empty: the deployment\'s resource group.')
param teacherAccountResourceGroup string = ''

// --- Serving -----------------------------------------------------------------------------------

@description('Hex SHA-256 of the first Distillery API key (echo -n KEY | sha256sum). The key itself never reaches Azure.')
param apiKeySha256 string = ''

@description('Tenant of the first API key. \'*\' is the operator tenant: it sees every tenant and may promote and roll back students.')
param apiKeyTenant string = '*'

@description('Comma-separated origins allowed by CORS; empty = CORS closed.')
param corsOrigins string = ''

@description('Path, inside the deployed package, of the JSON document with models, tasks and pricing.')
param configFile string = 'data/distillery.config.json'

@description('Largest accepted request body in bytes.')
@minValue(1)
param maxBodyBytes int = 4194304

// --- Data --------------------------------------------------------------------------------------

@description('Cosmos DB database name.')
param cosmosDatabaseName string = 'distillery'

@description('Retention of pair records in seconds (-1 = forever). Also the default TTL of the pairs container.')
@minValue(-1)
param pairTtlSeconds int = -1

@description('Service Bus queue of distillation jobs.')
param jobsQueueName string = 'distill-jobs'

@description('Deliveries of a job message before Service Bus dead-letters it.')
@minValue(1)
@maxValue(2000)
param jobMaxDeliveries int = 5

@description('Blob container for datasets and student models.')
param artifactContainerName string = 'distillery-artifacts'

@description('NCRONTAB of the trigger check (threshold, per-task schedule, drift).')
param redistillSchedule string = '0 */5 * * * *'

// --- Azure ML (optional) -------------------------------------------------------------------------

@description('Name of an Azure ML workspace to create for the azure-ml trainer (serverless fine-tuning of Phi-4-mini, Phi-3.5-mini, Llama-3.1-8B). Empty: none. Pick a region that offers serverless fine-tuning of your student (docs/fine-tuning.md).')
param azureMlWorkspaceName string = ''

// --- Scale -------------------------------------------------------------------------------------

// Chosen by the capacity model (docs/capacity.md, `npx tsx bench/capacity-model.ts`; the design
// workload is DESIGN_WORKLOAD in bench/capacity/capacity-math.ts, and test/unit/infra.test.ts
// checks these defaults against it).

@description('Memory of each Flex Consumption instance; ONNX students run in-process, so 2048 MB (1 vCPU) is the floor worth using.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Upper bound on Flex Consumption instances (caps spend and teacher fan-out). The model needs 16 busy instances at 10,000 requests/s (80% student); 40 is also the lowest value every Flex region accepts.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Concurrent HTTP requests per instance: what keeps one vCPU near 60% at the mean latency of an 80%-student mix (teacher calls wait on I/O). See docs/capacity.md.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 190

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${resourceToken}'
    artifactContainerName: artifactContainerName
    principalId: identity.outputs.principalId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    name: 'cosmos-${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    pairTtlSeconds: pairTtlSeconds
    principalId: identity.outputs.principalId
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  name: 'service-bus'
  scope: rg
  params: {
    name: 'sb-${resourceToken}'
    location: location
    tags: tags
    queueName: jobsQueueName
    maxDeliveryCount: jobMaxDeliveries
    principalId: identity.outputs.principalId
  }
}

// Only when a key is given: the key goes to Key Vault, and the app reads it by reference.
module teacherKey 'modules/key-vault.bicep' = if (!empty(teacherApiKey)) {
  name: 'teacher-key'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    secretName: 'teacher-api-key'
    secretValue: teacherApiKey
    principalId: identity.outputs.principalId
  }
}

module teacherAccess 'modules/teacher-access.bicep' = if (!empty(teacherAccountName)) {
  name: 'teacher-access'
  scope: resourceGroup(empty(teacherAccountResourceGroup) ? rg.name : teacherAccountResourceGroup)
  params: {
    accountName: teacherAccountName
    provider: empty(teacherProvider) ? (empty(teacherBaseUrl) ? 'azure-openai' : 'openai') : teacherProvider
    principalId: identity.outputs.principalId
  }
}

module azureMl 'modules/azure-ml.bicep' = if (!empty(azureMlWorkspaceName)) {
  name: 'azure-ml'
  scope: rg
  params: {
    name: azureMlWorkspaceName
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: 'kvml-${resourceToken}'
    principalId: identity.outputs.principalId
  }
}

module api 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmosDatabaseName
    pairTtlSeconds: pairTtlSeconds
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    jobsQueueName: jobsQueueName
    jobMaxDeliveries: jobMaxDeliveries
    artifactContainerName: artifactContainerName
    teacherProvider: teacherProvider
    teacherEndpoint: teacherEndpoint
    teacherBaseUrl: teacherBaseUrl
    teacherDeployment: teacherDeployment
    teacherApiVersion: teacherApiVersion
    teacherApiKeySecretUri: empty(teacherApiKey) ? '' : teacherKey.outputs.secretUri
    apiKeySha256: apiKeySha256
    apiKeyTenant: apiKeyTenant
    corsOrigins: corsOrigins
    configFile: configFile
    maxBodyBytes: maxBodyBytes
    redistillSchedule: redistillSchedule
  }
}

// azd stores these in .azure/<env>/.env. Endpoints and names only: nothing here grants access.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output SERVICE_BUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output ARTIFACT_BLOB_SERVICE_URI string = storage.outputs.blobEndpoint
output AZURE_ML_WORKSPACE_ID string = empty(azureMlWorkspaceName) ? '' : azureMl.outputs.id
