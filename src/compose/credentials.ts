import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

// How each Azure client authenticates: a test's credential wins; `__credential: managedidentity`
// app settings pin the managed identity (the Functions convention); otherwise the default chain.

export function credentialFor(clientId: string | undefined, managed: boolean, fallback: TokenCredential | undefined): TokenCredential {
  if (fallback) return fallback;
  if (managed) return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

/** A loopback endpoint (local emulators): the SDK must not discover other regions behind it. */
export const isLoopback = (url: string) => /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/i.test(url);
