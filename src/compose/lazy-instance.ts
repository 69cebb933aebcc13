// An object built on the first use of any of its members. Serving a chat request needs the pair
// store only; the job store, the registry and the job queue each open a SQLite connection and
// create their tables (~10-30 ms apiece), which the cold start then pays for nothing (issue 19).
// `idle` members answer without building it (closing what was never opened opens nothing).

export function lazyInstance<T extends object>(create: () => T, idle: Partial<T> = {}): T {
  let target: T | undefined;
  return new Proxy({} as T, {
    get(_, property) {
      if (!target) {
        // `await` probes `then`: a store is not a promise, and being awaited must not build it.
        if (property === 'then') return undefined;
        if (Object.hasOwn(idle, property)) return idle[property as keyof T];
        target = create();
      }
      const value: unknown = Reflect.get(target, property, target);
      // Bound to the real object: its methods may use #private fields.
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has: (_, property) => Reflect.has((target ??= create()), property),
  });
}
