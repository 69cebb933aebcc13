import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { closeDistillery, getDistillery } from '../src/function-app-instance.js';
import { handleWithApp } from '../src/http/azure-functions-bridge.js';

// Every HTTP route (chat API, admin API, dashboard) goes to the one Hono app. host.json sets
// routePrefix "" so the app sees the same paths as the standalone server.

app.setup({ enableHttpStream: true });

export async function httpApi(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const distillery = await getDistillery();
  return handleWithApp(distillery.app, request, context);
}

/** Host shutdown (scale-in, deployment): flush pair records within DISTILLERY_SHUTDOWN_TIMEOUT_MS. */
export async function onHostTerminate(): Promise<void> {
  await closeDistillery();
}

app.hook.appTerminate(onHostTerminate);

app.http('http-api', {
  route: '{*path}',
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'],
  authLevel: 'anonymous',
  handler: httpApi,
});
