import type { TokenCredential } from '@azure/identity';

// What every OpenAI client of a configured model is built with (shared by the undici chat path in
// create-openai-model.ts and the SDK client in create-openai-client.ts).

export const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

export interface CreateModelOptions {
  env: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  credential?: TokenCredential;
}
