// Request metrics for Prometheus (GET /metrics), kept in this process: requests by route, task,
// arm and status, and a latency histogram. Every label has a bounded set of values (route
// patterns, configured tasks, two arms, status codes): tenants and keys are never labels.

export interface RequestObservation {
  method: string;
  /** The matched route pattern (e.g. /admin/pairs/:id), never the raw path. */
  route: string;
  path: string;
  status: number;
  durationInMs: number;
  requestId: string;
  task?: string;
  arm?: string;
  tenant?: string;
  keyId?: string;
}

/** Seconds; chat answers from the in-process student take ~1 ms, the teacher seconds. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Histogram {
  labels: Record<string, string>;
  buckets: number[];
  sum: number;
  count: number;
}

export class HttpMetrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly durations = new Map<string, Histogram>();

  observe(o: RequestObservation): void {
    // Keys joined with NUL (no label value holds one); the label objects are built once per series.
    const task = o.task ?? '';
    const arm = o.arm ?? '';
    const hKey = `${o.route}\0${task}\0${arm}`;
    const key = `${o.method}\0${o.status}\0${hKey}`;
    let counter = this.requests.get(key);
    if (!counter) this.requests.set(key, (counter = { labels: { method: o.method, route: o.route, status: String(o.status), task, arm }, value: 0 }));
    counter.value += 1;

    let h = this.durations.get(hKey);
    if (!h) this.durations.set(hKey, (h = { labels: { route: o.route, task, arm }, buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const seconds = o.durationInMs / 1000;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) h.buckets[i]! += 1;
    h.sum += seconds;
    h.count += 1;
  }

  /** The request families in the text exposition format. */
  render(): string {
    const lines = [
      '# HELP distillery_http_requests_total HTTP requests answered, by route, task, served arm and status.',
      '# TYPE distillery_http_requests_total counter',
    ];
    for (const c of this.requests.values()) lines.push(`distillery_http_requests_total${labelText(c.labels)} ${c.value}`);
    lines.push(
      '# HELP distillery_http_request_duration_seconds Time to the response headers (for a stream: to its first event).',
      '# TYPE distillery_http_request_duration_seconds histogram',
    );
    for (const h of this.durations.values()) {
      LATENCY_BUCKETS.forEach((le, i) => lines.push(`distillery_http_request_duration_seconds_bucket${labelText({ ...h.labels, le: String(le) })} ${h.buckets[i]}`));
      lines.push(`distillery_http_request_duration_seconds_bucket${labelText({ ...h.labels, le: '+Inf' })} ${h.count}`);
      lines.push(`distillery_http_request_duration_seconds_sum${labelText(h.labels)} ${h.sum}`);
      lines.push(`distillery_http_request_duration_seconds_count${labelText(h.labels)} ${h.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** One metric without labels, as exposition lines. */
export function gaugeLines(name: string, type: 'gauge' | 'counter', help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
}

/** One metric family with labelled samples (none: no lines); ±∞ as Prometheus writes it. */
export function labeledLines(name: string, type: 'gauge' | 'counter', help: string, samples: { labels: Record<string, string>; value: number }[]): string {
  if (!samples.length) return '';
  const value = (v: number) => (v === Number.POSITIVE_INFINITY ? '+Inf' : v === Number.NEGATIVE_INFINITY ? '-Inf' : String(v));
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${samples.map((s) => `${name}${labelText(s.labels)} ${value(s.value)}`).join('\n')}\n`;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
export const labelText = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;
