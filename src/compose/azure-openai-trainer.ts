import { AzureOpenAIFineTuningTrainer, createFineTuningClient } from '../adapters/openai/azure-openai-fine-tuning-trainer.js';
import type { Config } from '../config.js';
import { JobFailure } from '../core/distill/job-failure.js';
import { preflightFailed } from '../core/distill/job-preflight.js';
import type { Trainer } from '../core/ports.js';
import type { TaskConfig } from '../core/tasks/task-schema.js';
import type { ComposeOptions } from './compose-options.js';

// Azure OpenAI fine-tuning (imported by distillation.ts on first use: it loads the openai SDK).

/** Remote fine-tuning: one trainer per configured Azure OpenAI resource (and poll interval) a task names. */
export function azureOpenAITrainer(config: Config, options: ComposeOptions, log: (m: string) => void): Trainer {
  const fineTuners = new Map<string, AzureOpenAIFineTuningTrainer>();
  const fineTunerFor = (task: TaskConfig) => {
    const ref = task.distill.fineTuning.modelRef;
    const settings = ref ? config.document.models[ref] : undefined;
    if (!ref || !settings) {
      throw new JobFailure(`Task '${task.name}' uses the azure-openai trainer but distill.fineTuning.modelRef (student.modelRef in a spec) names no configured model.`, 'trainer_unavailable');
    }
    const pollIntervalInMs = task.distill.fineTuning.pollIntervalInMs;
    const key = `${ref}\u0000${pollIntervalInMs}`;
    let trainer = fineTuners.get(key);
    if (!trainer) {
      const client = createFineTuningClient(settings, { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.credential ? { credential: options.credential } : {}) });
      trainer = new AzureOpenAIFineTuningTrainer({ pollIntervalInMs, client, modelRef: ref, log });
      fineTuners.set(key, trainer);
    }
    return trainer;
  };
  return {
    kind: 'azure-openai',
    train: (request, opts) => fineTunerFor(request.task).train(request, opts),
    preflight: async (task, opts) => {
      let trainer: AzureOpenAIFineTuningTrainer;
      try {
        trainer = fineTunerFor(task);
      } catch (err) {
        throw preflightFailed((err as Error).message, 'student.modelRef', 'trainer_unavailable');
      }
      await trainer.preflight(task, opts);
    },
  };
}
