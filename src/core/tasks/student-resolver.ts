import type { ChatModel } from '../ports.js';

// What the gateway asks for a task's student: the ChatModel of the version promoted right now,
// or undefined when the task has none. Implementations cache and notice promotions on their own
// (src/adapters/onnx/registry-student-resolver.ts); the gateway never restarts to see one.

export interface StudentResolveOptions {
  abortSignal?: AbortSignal;
}

export interface StudentResolver {
  resolve(task: string, options?: StudentResolveOptions): Promise<ChatModel | undefined>;
  /** Forget what is cached for the task, so the next resolve reads the registry (after a promote). */
  invalidate(task: string): void;
}
