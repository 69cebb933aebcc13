import { DefaultAzureCredential, getBearerTokenProvider } from '@azure/identity';
import OpenAI, { AzureOpenAI } from 'openai';
import type { ModelSettings } from '../../core/chat/model-settings.js';
import { COGNITIVE_SERVICES_SCOPE, type CreateModelOptions } from './openai-client-options.js';

// Builds the OpenAI-SDK client for one configured model: Azure OpenAI (deployment + api-version,
// api-key or Entra ID) or any OpenAI-compatible base URL (Azure AI Foundry, others). This file
// loads the openai SDK and @azure/identity (~150 + ~300 ms): create-openai-model.ts imports it only
// when a client is first needed (an injected fetch, fine-tuning), never on the undici chat path.

export function createOpenAIClient(settings: ModelSettings, options: CreateModelOptions): OpenAI {
  const apiKey = settings.apiKeySetting ? options.env[settings.apiKeySetting] : undefined;
  const common = {
    maxRetries: settings.maxRetries,
    timeout: settings.timeoutInMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  if (settings.provider === 'azure-openai') {
    const auth =
      settings.auth === 'entra'
        ? { azureADTokenProvider: getBearerTokenProvider(options.credential ?? new DefaultAzureCredential(), settings.tokenScope ?? COGNITIVE_SERVICES_SCOPE) }
        : { apiKey: apiKey ?? 'unset' };
    return new AzureOpenAI({
      ...common,
      ...auth,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : { baseURL: settings.baseURL }),
      deployment: settings.deployment,
      apiVersion: settings.apiVersion,
    });
  }
  if (settings.auth === 'entra') {
    // Foundry model deployments accept Entra ID bearer tokens on the OpenAI-compatible route.
    const provider = getBearerTokenProvider(options.credential ?? new DefaultAzureCredential(), settings.tokenScope ?? COGNITIVE_SERVICES_SCOPE);
    return new OpenAI({
      ...common,
      baseURL: settings.baseURL,
      apiKey: 'entra',
      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${await provider()}`);
        return (options.fetch ?? fetch)(input, { ...init, headers });
      },
    });
  }
  return new OpenAI({ ...common, baseURL: settings.baseURL, apiKey: settings.auth === 'none' ? 'none' : (apiKey ?? 'unset') });
}
