import { ConfigError, loadConfig } from './config.js';
import { createDistillery } from './compose.js';
import { listen, type RunningServer } from './server.js';

// `npm start` / `distillery serve`: start the platform on the configured (by default embedded)
// adapters, print where it listens and the key to use, and shut down cleanly on a signal.

export interface ServeOptions {
  env?: Record<string, string | undefined>;
  port?: number;
  host?: string;
  /** Do not install signal handlers (tests, the demo command). */
  embedded?: boolean;
  print?: (line: string) => void;
}

export async function runServe(options: ServeOptions): Promise<RunningServer & { close(): Promise<void> }> {
  const print = options.print ?? ((line: string) => console.log(line));
  let config;
  try {
    config = loadConfig(options.env ?? process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      print(err.message);
      process.exitCode = 2;
    }
    throw err;
  }
  const distillery = await createDistillery(config, { generateKeyIfNone: true, log: (m) => print(m) });
  // Without configured keys the generated key must not be reachable from the network.
  const host = distillery.generatedKeys.length ? '127.0.0.1' : (options.host ?? config.settings.DISTILLERY_HOST);
  const server = await listen(distillery, { host, port: options.port ?? config.settings.DISTILLERY_PORT });

  print(`Distillery is listening on ${server.url}`);
  for (const k of distillery.generatedKeys) {
    print(`API key (tenant '${k.tenant}', scopes ${k.scopes.join('+')}), shown once: ${k.key}`);
  }
  const firstTask = distillery.tasks.list()[0]?.config.name ?? '<task>';
  const key = distillery.generatedKeys[0]?.key ?? '$DISTILLERY_API_KEY';
  print('Try:');
  print(`  curl -s ${server.url}/v1/models -H "Authorization: Bearer ${key}"`);
  print(
    `  curl -s ${server.url}/v1/chat/completions -H "Authorization: Bearer ${key}" -H "content-type: application/json" ` +
      `-d '{"model":"${firstTask}","messages":[{"role":"user","content":"what is my account balance"}]}'`,
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await server.close();
      await distillery.close();
    })());
  if (!options.embedded) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        print(`\n${signal}: flushing pair records and shutting down`);
        close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  }
  return { ...server, close };
}
