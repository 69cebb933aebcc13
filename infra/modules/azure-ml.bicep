// Optional Azure ML workspace for the `azure-ml` trainer: serverless fine-tuning of catalog
// students (Phi-4-mini, Phi-3.5-mini, Llama-3.1-8B) and the serverless endpoints that serve them.
// It reuses Distillery's storage account (keyless: datastores authenticate with identities) and
// Application Insights, and brings the Key Vault a workspace requires. The app identity gets
// AzureML Data Scientist on this workspace only: data assets, jobs, models and serverless
// endpoints, but no compute, workspace or role management. Meta models also need a Marketplace
// subscription, which the first deployment by a user with that right creates.

param name string
param location string
param tags object
param storageAccountName string
param applicationInsightsName string
param keyVaultName string
param principalId string

var azureMLDataScientist = 'f6c7c914-8db3-469d-8ca1-694a8f32e121'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'Default'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    friendlyName: name
    storageAccount: storage.id
    keyVault: vault.id
    applicationInsights: appInsights.id
    systemDatastoresAuthMode: 'identity'
    publicNetworkAccess: 'Enabled'
  }
}

resource dataScientist 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, azureMLDataScientist)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', azureMLDataScientist)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output id string = workspace.id
output name string = workspace.name
