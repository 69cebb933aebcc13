import { Hono } from 'hono';
import type { AdmissionStats } from './admission-control.js';
import type { AppEnv } from './create-app.js';
import type { CascadeGauge } from '../core/routing/cascade-gauges.js';
import { gaugeLines, labeledLines, type HttpMetrics } from './http-metrics.js';

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
  /** The cascade's τ, shadow rows and shadow rate per (task, version), from memory (core/routing/cascade-gauges.ts). */
  cascade?: () => CascadeGauge[];
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
    const g = deps.cascade?.();
    if (g) text += cascadeLines(g);
    return c.body(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
  });
  return app;
}

/** The cascade gauges: a version appears once the router has asked about it (never a store read here). */
function cascadeLines(gauges: CascadeGauge[]): string {
  const rows = <K extends keyof CascadeGauge>(key: K, value: (x: NonNullable<CascadeGauge[K]>) => number, extra: Record<string, string> = {}) =>
    gauges.flatMap((x) => (x[key] === undefined ? [] : [{ labels: { task: x.task, version: x.version, ...extra }, value: value(x[key]!) }]));
  return (
    labeledLines('distillery_cascade_threshold', 'gauge', "Cascade τ per student version: the version's own (source=version) and the online one the router uses (source=online); +Inf: the teacher answers.", [
      ...rows('threshold', (t) => t.version, { source: 'version' }),
      ...rows('threshold', (t) => t.online, { source: 'online' }),
    ]) +
    labeledLines(
      'distillery_cascade_threshold_state',
      'gauge',
      "1 for the online τ's state: offline (the version's τ kept), loosened or tightened.",
      gauges.flatMap((x) => (x.threshold ? [{ labels: { task: x.task, version: x.version, state: x.threshold.state }, value: 1 }] : [])),
    ) +
    labeledLines('distillery_cascade_shadow_rows', 'gauge', "Comparable random-shadow rows of the version since its promotion (what the online τ and the shadow rate rest on).", rows('shadowRows', (n) => n)) +
    labeledLines('distillery_cascade_shadow_agreements', 'gauge', 'Of those rows, the ones where the student agreed with the teacher.', rows('shadowAgreements', (n) => n)) +
    labeledLines('distillery_shadow_rate', 'gauge', 'Adaptive shadow rate of the version: share of student-served requests also sent to the teacher.', rows('shadowRate', (r) => r))
  );
}
