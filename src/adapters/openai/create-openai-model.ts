import { DefaultAzureCredential, getBearerTokenProvider, type TokenCredential } from '@azure/identity';
import OpenAI, { AzureOpenAI } from 'openai';
import type { ChatModelRequest } from '../../core/chat/chat-model-types.js';
import type { ModelSettings } from '../../core/chat/model-settings.js';
import { ChatCompletionsClient } from './chat-completions-client.js';
import { OpenAIChatModel } from './openai-chat-model.js';

// Builds the OpenAI-SDK client for one configured model: Azure OpenAI (deployment + api-version,
// api-key or Entra ID) or any OpenAI-compatible base URL (Azure AI Foundry, others).

const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

export interface CreateModelOptions {
  env: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  credential?: TokenCredential;
}

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
        ? { azureADTokenProvider: getBearerTokenProvider(options.credential ?? new DefaultAzureCredential(), COGNITIVE_SERVICES_SCOPE) }
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
    const provider = getBearerTokenProvider(options.credential ?? new DefaultAzureCredential(), COGNITIVE_SERVICES_SCOPE);
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

/** Where the chat-completions route is and how to authenticate, as the SDK clients above build it. */
export function chatCompletionsEndpoint(settings: ModelSettings, options: CreateModelOptions): { url: string; authHeaders: () => Record<string, string> | Promise<Record<string, string>> } {
  const apiKey = settings.apiKeySetting ? options.env[settings.apiKeySetting] : undefined;
  const tokenProvider = settings.auth === 'entra' ? getBearerTokenProvider(options.credential ?? new DefaultAzureCredential(), COGNITIVE_SERVICES_SCOPE) : undefined;
  const bearer = tokenProvider ? async () => ({ authorization: `Bearer ${await tokenProvider()}` }) : undefined;
  if (settings.provider === 'azure-openai') {
    const base = trimSlashes(settings.endpoint ? `${trimSlashes(settings.endpoint)}/openai` : (settings.baseURL ?? ''));
    // The AzureOpenAI client puts the deployment (or, without one, the model) in the path.
    const deployment = settings.deployment ?? settings.model;
    const route = deployment !== undefined && !base.includes('/deployments') ? `/deployments/${deployment}/chat/completions` : '/chat/completions';
    const headers = { 'api-key': apiKey ?? 'unset' };
    return { url: `${base}${route}?api-version=${encodeURIComponent(settings.apiVersion)}`, authHeaders: bearer ?? (() => headers) };
  }
  const headers = { authorization: `Bearer ${settings.auth === 'none' ? 'none' : (apiKey ?? 'unset')}` };
  return { url: `${trimSlashes(settings.baseURL ?? 'https://api.openai.com/v1')}/chat/completions`, authHeaders: bearer ?? (() => headers) };
}

const trimSlashes = (url: string) => url.replace(/\/+$/, '');

export function createOpenAIModel(id: string, settings: ModelSettings, options: CreateModelOptions): OpenAIChatModel {
  return new OpenAIChatModel({
    id,
    client: createOpenAIClient(settings, options),
    // An injected fetch (tests, proxies) is honoured through the SDK; otherwise chat calls take the undici path.
    ...(options.fetch ? {} : { wire: new ChatCompletionsClient({ ...chatCompletionsEndpoint(settings, options), maxRetries: settings.maxRetries }) }),
    model: settings.model ?? settings.deployment ?? id,
    maxRetries: settings.maxRetries,
    timeoutInMs: settings.timeoutInMs,
    idleTimeoutInMs: settings.idleTimeoutInMs,
    deadlineInMs: settings.deadlineInMs,
    defaults: settings.defaults as Partial<ChatModelRequest>,
  });
}
