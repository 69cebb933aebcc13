import type { TokenCredential } from '@azure/identity';

// How each Azure client authenticates: a test's credential wins; `__credential: managedidentity`
// app settings pin the managed identity (the Functions convention); otherwise the default chain.
// @azure/identity (and MSAL behind it) takes ~300 ms to import: it loads on the first token
// request, never at cold start (issue 19).

export function credentialFor(clientId: string | undefined, managed: boolean, fallback: TokenCredential | undefined): TokenCredential {
  if (fallback) return fallback;
  return lazyCredential(async () => {
    const { DefaultAzureCredential, ManagedIdentityCredential } = await import('@azure/identity');
    if (managed) return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
    return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
  });
}

/** DefaultAzureCredential, created when a token is first asked for. */
export const defaultAzureCredential = (): TokenCredential => credentialFor(undefined, false, undefined);

/** A TokenCredential that builds the real one on first use (a failed build is retried next time). */
export function lazyCredential(create: () => Promise<TokenCredential>): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= create().catch((err: unknown) => {
        credential = undefined;
        throw err;
      });
      return (await credential).getToken(scopes, options);
    },
  };
}

/** A loopback endpoint (local emulators): the SDK must not discover other regions behind it. */
export const isLoopback = (url: string) => /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/i.test(url);
