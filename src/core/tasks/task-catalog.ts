import { createLabelParser } from './classification-task.js';
import type { TaskConfig } from './task-schema.js';

// A task as it runs: its configuration plus what is derived from it once (the label parser of a
// classification task). The catalog is how every use case finds a task by name.

export interface TaskRuntime {
  config: TaskConfig;
  /** Classification tasks: the label in a model's answer, or null when there is none. */
  parseLabel?: (text: string) => string | null;
}

export interface TaskCatalog {
  get(name: string): TaskRuntime | undefined;
  list(): TaskRuntime[];
}

export function taskRuntime(config: TaskConfig): TaskRuntime {
  return config.classification ? { config, parseLabel: createLabelParser(config.classification) } : { config };
}

export function createTaskCatalog(tasks: readonly TaskConfig[]): TaskCatalog {
  const runtimes = new Map(tasks.map((t) => [t.name, taskRuntime(t)] as const));
  return { get: (name) => runtimes.get(name), list: () => [...runtimes.values()] };
}
