import type { RequestObservation } from './http-metrics.js';

// One structured line per request for the operator's log: what was asked of which route, by which
// tenant and key (its public id), how it ended and how long it took. Never the prompt, the query
// string or a header value: only the path, whose parts are route names and record ids.

export function accessLogLine(o: RequestObservation): string {
  const fields: Record<string, string | number> = {
    method: o.method,
    path: o.path.slice(0, 512),
    route: o.route,
    status: o.status,
    duration_ms: Math.round(o.durationInMs * 10) / 10,
    request_id: o.requestId,
  };
  if (o.task) fields.task = o.task;
  if (o.arm) fields.arm = o.arm;
  if (o.tenant) fields.tenant = o.tenant;
  if (o.keyId) fields.key_id = o.keyId;
  return `access ${JSON.stringify(fields)}`;
}
