import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Hono } from 'hono';

// Runs the Hono app inside an Azure Functions HTTP trigger: the Functions request becomes a Fetch
// Request, the app's Response becomes HttpResponseInit with its body still a stream (HTTP
// streaming is enabled in functions/http-api.ts), and the InvocationContext travels as a binding
// the way Hono's own serverless adapters pass theirs.

export async function handleWithApp(app: Hono<any>, request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const method = request.method.toUpperCase();
  const hasBody = method !== 'GET' && method !== 'HEAD' && request.body !== null;
  const fetchRequest = new Request(request.url, {
    method,
    headers: request.headers,
    ...(hasBody ? { body: request.body, duplex: 'half' } : {}),
  } as RequestInit);
  const response = await app.fetch(fetchRequest, { context });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return { status: response.status, headers, ...(response.body ? { body: response.body } : {}) };
}
