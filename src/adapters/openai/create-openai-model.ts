import type { TokenCredential } from '@azure/identity';
import type OpenAI from 'openai';
import { COGNITIVE_SERVICES_SCOPE, type CreateModelOptions } from './openai-client-options.js';
import type { ChatModelRequest } from '../../core/chat/chat-model-types.js';
import type { ModelSettings } from '../../core/chat/model-settings.js';
import { ChatCompletionsClient } from './chat-completions-client.js';
import { OpenAIChatModel } from './openai-chat-model.js';

// Builds the ChatModel of one configured model: Azure OpenAI (deployment + api-version, api-key or
// Entra ID) or any OpenAI-compatible base URL (Azure AI Foundry, others). Chat calls go over undici;
// the openai SDK client (create-openai-client.ts) and @azure/identity are imported on first use, so
// a cold start on the chat path never loads them (issue 19).

export type { CreateModelOptions } from './openai-client-options.js';

/** Where the chat-completions route is and how to authenticate, as the SDK clients of create-openai-client.ts build it. */
export function chatCompletionsEndpoint(settings: ModelSettings, options: CreateModelOptions): { url: string; authHeaders: () => Record<string, string> | Promise<Record<string, string>> } {
  const apiKey = settings.apiKeySetting ? options.env[settings.apiKeySetting] : undefined;
  const tokenProvider = settings.auth === 'entra' ? lazyBearerTokenProvider(options.credential, settings.tokenScope ?? COGNITIVE_SERVICES_SCOPE) : undefined;
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

/** An Entra ID token provider (Cognitive Services, or the model's `tokenScope`) whose identity library loads on the first token. */
function lazyBearerTokenProvider(credential: TokenCredential | undefined, scope: string): () => Promise<string> {
  let provider: Promise<() => Promise<string>> | undefined;
  return async () => {
    provider ??= import('@azure/identity').then(
      ({ DefaultAzureCredential, getBearerTokenProvider }) => getBearerTokenProvider(credential ?? new DefaultAzureCredential(), scope),
      (err: unknown) => {
        provider = undefined;
        throw err;
      },
    );
    return (await provider)();
  };
}

/** The SDK client, imported and built on the first call that needs it (then kept). */
function lazyOpenAIClient(settings: ModelSettings, options: CreateModelOptions): () => Promise<OpenAI> {
  let client: Promise<OpenAI> | undefined;
  return () =>
    (client ??= import('./create-openai-client.js').then(
      ({ createOpenAIClient }) => createOpenAIClient(settings, options),
      (err: unknown) => {
        client = undefined;
        throw err;
      },
    ));
}

export function createOpenAIModel(id: string, settings: ModelSettings, options: CreateModelOptions): OpenAIChatModel {
  return new OpenAIChatModel({
    id,
    client: lazyOpenAIClient(settings, options),
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
