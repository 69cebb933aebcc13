// The one identity the Function App runs as. User-assigned (not system-assigned) so its principal
// exists before the app does: role assignments and the Flex deployment container can name it in
// the same deployment, and it survives re-creating the app.

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
