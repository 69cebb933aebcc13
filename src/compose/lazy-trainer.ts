import type { Trainer } from '../core/ports.js';

// A trainer whose adapter is imported on its first use: trainers pull in onnxruntime, protobufjs
// or the openai SDK, which only a job worker needs, never the serving path's cold start (issue 19).

/** `preflight: false` for a trainer without one, so that a preflight does not import it for nothing. */
export function lazyTrainer(kind: string, load: () => Promise<Trainer>, options: { preflight?: boolean } = {}): Trainer {
  let trainer: Promise<Trainer> | undefined;
  const get = () =>
    (trainer ??= load().catch((err: unknown) => {
      // A failed import is tried again by the next job, not remembered for the life of the process.
      trainer = undefined;
      throw err;
    }));
  const lazy: Trainer = { kind, train: async (request, opts) => (await get()).train(request, opts) };
  if (options.preflight === false) return lazy;
  return {
    ...lazy,
    preflight: async (task, opts) => {
      await (await get()).preflight?.(task, opts);
    },
  };
}
