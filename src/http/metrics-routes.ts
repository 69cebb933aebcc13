import { Hono } from 'hono';
import type { AdmissionStats } from './admission-control.js';
import type { AppEnv } from './create-app.js';
import { gaugeLines, type HttpMetrics } from './http-metrics.js';

// GET /metrics: Prometheus text exposition (version 0.0.4) beside Application Insights. Read with
// the operator key or the metrics-only key (DISTILLERY_METRICS_KEY_SHA256). Values are this
// process's: Prometheus sums the instances it scrapes.

export interface PairWriterGauges {
  queued: number;
  spooled: number;
  refused: number;
  rejected: number;
  spoolFailures: number;
}

export interface MetricsRouteDeps {
  http: HttpMetrics;
  admission?: () => AdmissionStats;
  pairWriter?: () => PairWriterGauges;
}

export function createMetricsRoutes(deps: MetricsRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/', (c) => {
    let text = deps.http.render();
    const a = deps.admission?.();
    if (a) {
      text += gaugeLines('distillery_admission_refused_total', 'counter', 'Chat requests refused with 503 by admission control (in-flight cap).', a.refused);
      text += gaugeLines('distillery_admission_in_flight', 'gauge', 'Chat requests in flight.', a.inFlight);
      text += gaugeLines('distillery_admission_max_in_flight', 'gauge', 'The in-flight cap (0 = none).', a.maxInFlight);
    }
    const p = deps.pairWriter?.();
    if (p) {
      text += gaugeLines('distillery_pair_writer_queue_depth', 'gauge', 'Pair records held in memory, waiting for the store.', p.queued);
      text += gaugeLines('distillery_pair_outbox_records', 'gauge', 'Pair records in the outbox while the store fails.', p.spooled);
      text += gaugeLines('distillery_pair_records_refused_total', 'counter', 'Pair records refused by the writer (memory queue full, or closed).', p.refused);
      text += gaugeLines('distillery_pair_records_rejected_total', 'counter', 'Pair records the store refused for good.', p.rejected);
      text += gaugeLines('distillery_pair_outbox_failures_total', 'counter', 'Failed outbox appends.', p.spoolFailures);
    }
    return c.body(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
  });
  return app;
}
