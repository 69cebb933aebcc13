import { AzureMLClient } from '../adapters/azure-ml/azure-ml-rest-client.js';
import { AzureMLTrainer } from '../adapters/azure-ml/azure-ml-trainer.js';
import type { Config } from '../config.js';
import { JobFailure } from '../core/distill/job-failure.js';
import { preflightFailed } from '../core/distill/job-preflight.js';
import type { Trainer } from '../core/ports.js';
import type { TaskConfig } from '../core/tasks/task-schema.js';
import type { ComposeOptions } from './compose-options.js';
import { defaultAzureCredential } from './credentials.js';

// Azure ML serverless fine-tuning: one trainer per workspace (and endpoint, poll interval) a task
// names in distill.fineTuning.azureMl; the serving settings come from distill.fineTuning.modelRef.

export function azureMLTrainer(config: Config, options: ComposeOptions, log: (m: string) => void): Trainer {
  const trainers = new Map<string, AzureMLTrainer>();
  const trainerFor = (task: TaskConfig): AzureMLTrainer => {
    const ft = task.distill.fineTuning;
    const ref = ft.modelRef;
    if (!ft.azureMl || !ref || !config.document.models[ref]) {
      throw new JobFailure(
        `Task '${task.name}' uses the azure-ml trainer: set distill.fineTuning.azureMl.workspace (the workspace's ARM id) and distill.fineTuning.modelRef (a configured model whose auth serves the endpoint).`,
        'trainer_unavailable',
      );
    }
    const { workspace, endpointName, apiVersion } = ft.azureMl;
    const key = [workspace, endpointName ?? '', apiVersion, ref, ft.pollIntervalInMs].join('\u0000');
    let trainer = trainers.get(key);
    if (!trainer) {
      const client = new AzureMLClient({
        workspaceId: workspace,
        apiVersion,
        credential: options.credential ?? defaultAzureCredential(),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      trainer = new AzureMLTrainer({ client, modelRef: ref, pollIntervalInMs: ft.pollIntervalInMs, ...(endpointName ? { endpointName } : {}), log });
      trainers.set(key, trainer);
    }
    return trainer;
  };
  return {
    kind: 'azure-ml',
    train: (request, opts) => trainerFor(request.task).train(request, opts),
    preflight: async (task, opts) => {
      let trainer: AzureMLTrainer;
      try {
        trainer = trainerFor(task);
      } catch (err) {
        throw preflightFailed((err as Error).message, 'student.trainer', 'trainer_unavailable');
      }
      await trainer.preflight(task, opts);
    },
  };
}
