import type { ModelSettings } from '../../core/chat/model-settings.js';
import { DistilleryError } from '../../core/errors.js';

// How the serverless endpoint of an Azure ML student is called, taken from the configured model
// the trainer registers the version under (`distill.fineTuning.modelRef`): the serving side calls
// the endpoint with that model's settings, so the endpoint is deployed to accept the same auth.
//
// - `auth: entra`: the endpoint is deployed with `authMode: AAD` and called with a Microsoft Entra
//   token for `https://ml.azure.com/.default` (the model's `tokenScope`), from DefaultAzureCredential
//   or the injected token credential. One identity (with the workspace's score permission) calls
//   every endpoint: the way to serve a per-job endpoint.
// - `auth: key`: `authMode: Key`. Every serverless endpoint has keys of its own, so a key in
//   `apiKeySetting` can only call one named existing endpoint (`azureMl.endpointName`); a per-job
//   endpoint with key auth would train, deploy and then answer 401: refused before any paid call.
// - `auth: none`: a local stand-in (tests); deployed with `Key`.

/** The Entra ID scope of Azure ML inference (serverless and online endpoints). */
export const AZURE_ML_INFERENCE_SCOPE = 'https://ml.azure.com/.default';

export type ServerlessAuthMode = 'Key' | 'AAD';

const refused = (message: string, param: string) => new DistilleryError(message, { status: 400, type: 'invalid_request_error', code: 'invalid_endpoint_auth', param });

/**
 * The `authMode` to deploy the serverless endpoint with, for the configured model `ref` that serves
 * it; a 400 naming the setting when that model could not call the endpoint.
 */
export function serverlessAuthModeOf(ref: string, settings: Pick<ModelSettings, 'auth' | 'tokenScope'>, endpointName: string | undefined): ServerlessAuthMode {
  if (settings.auth === 'entra') {
    if (settings.tokenScope !== AZURE_ML_INFERENCE_SCOPE) {
      throw refused(
        `Model '${ref}' serves Azure ML serverless endpoints with Entra ID: set its tokenScope to '${AZURE_ML_INFERENCE_SCOPE}' (now '${settings.tokenScope ?? 'https://cognitiveservices.azure.com/.default'}', which the endpoint refuses).`,
        `models.${ref}.tokenScope`,
      );
    }
    return 'AAD';
  }
  if (settings.auth === 'key' && !endpointName) {
    throw refused(
      `Model '${ref}' calls Azure ML serverless endpoints with a key, but each job deploys an endpoint with keys of its own: use auth 'entra' (tokenScope '${AZURE_ML_INFERENCE_SCOPE}'), or name one existing endpoint in distill.fineTuning.azureMl.endpointName whose key the model's apiKeySetting holds.`,
      `models.${ref}.auth`,
    );
  }
  return 'Key';
}
