// Keyless access to the teacher: the app identity gets the narrowest role that lets it call
// inference on the teacher's account (deployed in the account's resource group).
//   azure-openai → Cognitive Services OpenAI User (chat completions on Azure OpenAI deployments)
//   openai (Azure AI Foundry models endpoint) → Cognitive Services User (model inference)

param accountName string
@allowed(['azure-openai', 'openai'])
param provider string
param principalId string

var cognitiveServicesOpenAIUser = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
var cognitiveServicesUser = 'a97b65f3-24c7-4388-baec-2e87135dc908'
var roleId = provider == 'azure-openai' ? cognitiveServicesOpenAIUser : cognitiveServicesUser

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

resource teacherUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
