import { AzureMLClient } from '../adapters/azure-ml/azure-ml-rest-client.js';
import { AzureMLTrainer } from '../adapters/azure-ml/azure-ml-trainer.js';
import { serverlessAuthModeOf } from '../adapters/azure-ml/serverless-endpoint-auth.js';
import type { Config } from '../config.js';
import { JobFailure } from '../core/distill/job-failure.js';
import { preflightFailed } from '../core/distill/job-preflight.js';
import { DistilleryError } from '../core/errors.js';
import type { Trainer } from '../core/ports.js';
import type { TaskConfig } from '../core/tasks/task-schema.js';
import type { ComposeOptions } from './compose-options.js';
import { defaultAzureCredential } from './credentials.js';

// Azure ML serverless fine-tuning: one trainer per workspace (and endpoint, poll interval) a task
// names in distill.fineTuning.azureMl; the serving settings come from distill.fineTuning.modelRef,
// whose auth also decides how the endpoint is deployed (key or Entra ID: serverless-endpoint-auth.ts).

export function azureMLTrainer(config: Config, options: ComposeOptions, log: (m: string) => void): Trainer {
  const trainers = new Map<string, AzureMLTrainer>();
  const trainerFor = (task: TaskConfig): AzureMLTrainer => {
    const ft = task.distill.fineTuning;
    const ref = ft.modelRef;
    const serving = ref ? config.document.models[ref] : undefined;
    if (!ft.azureMl || !ref || !serving) {
      throw new JobFailure(
        `Task '${task.name}' uses the azure-ml trainer: set distill.fineTuning.azureMl.workspace (the workspace's ARM id) and distill.fineTuning.modelRef (a configured model whose auth serves the endpoint).`,
        'trainer_unavailable',
      );
    }
    const { workspace, endpointName, apiVersion } = ft.azureMl;
    const authMode = serverlessAuthModeOf(ref, serving, endpointName);
    const key = [workspace, endpointName ?? '', apiVersion, ref, authMode, ft.pollIntervalInMs].join('\u0000');
    let trainer = trainers.get(key);
    if (!trainer) {
      const client = new AzureMLClient({
        workspaceId: workspace,
        apiVersion,
        credential: options.credential ?? defaultAzureCredential(),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      trainer = new AzureMLTrainer({ client, modelRef: ref, authMode, pollIntervalInMs: ft.pollIntervalInMs, ...(endpointName ? { endpointName } : {}), log });
      trainers.set(key, trainer);
    }
    return trainer;
  };
  return {
    kind: 'azure-ml',
    train: async (request, opts) => {
      let trainer: AzureMLTrainer;
      try {
        trainer = trainerFor(request.task);
      } catch (err) {
        // Settings no retry can fix: the job fails with the reason instead of being redelivered.
        if (err instanceof DistilleryError && !(err instanceof JobFailure)) throw new JobFailure(err.message, 'trainer_unavailable');
        throw err;
      }
      return trainer.train(request, opts);
    },
    preflight: async (task, opts) => {
      let trainer: AzureMLTrainer;
      try {
        trainer = trainerFor(task);
      } catch (err) {
        if (err instanceof DistilleryError && err.status === 400 && err.param) throw err;
        throw preflightFailed((err as Error).message, 'student.trainer', 'trainer_unavailable');
      }
      await trainer.preflight(task, opts);
    },
  };
}
