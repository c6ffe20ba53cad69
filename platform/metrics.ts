import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus metrics (contract §7), on one registry that `GET /metrics` renders.
 * Every metric is defined here once, so names and labels stay consistent across modules.
 * Label values are bounded sets (route patterns, not raw paths; outcome enums).
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'steadfast_' });

export const metrics = {
  httpRequests: new Counter({
    name: 'steadfast_http_requests_total',
    help: 'HTTP requests by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [metricsRegistry],
  }),
  httpRequestDuration: new Histogram({
    name: 'steadfast_http_request_duration_seconds',
    help: 'HTTP request latency by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metricsRegistry],
  }),
  workflowStarts: new Counter({
    name: 'steadfast_workflow_starts_total',
    help: 'Workflow starts requested by this process, by workflow type and result (started, already_started, failed: definitely not started, ambiguous: maybe started, the row is kept for the start reconciler).',
    labelNames: ['workflow_type', 'result'] as const,
    registers: [metricsRegistry],
  }),
  startReconcilerRows: new Counter({
    name: 'steadfast_start_reconciler_rows_total',
    help: 'Rows in their initial status past RECONCILE_AFTER_MS that the start reconciler looked at, by kind and result (started: it had no run and got one; adopted: its run existed; stuck: its run closed and left it in its initial status; failed: the start was refused).',
    labelNames: ['kind', 'result'] as const,
    registers: [metricsRegistry],
  }),
  startReconcilerUnstarted: new Gauge({
    name: 'steadfast_start_reconciler_unstarted_rows',
    help: 'Rows in their initial status past RECONCILE_AFTER_MS with no confirmed run, by kind, after the last reconciler pass.',
    labelNames: ['kind'] as const,
    registers: [metricsRegistry],
  }),
  workflowResults: new Counter({
    name: 'steadfast_workflow_results_total',
    help: 'Business outcomes seen by this process, by workflow type and status (succeeded, failed, ...).',
    labelNames: ['workflow_type', 'status'] as const,
    registers: [metricsRegistry],
  }),
  cacheRequests: new Counter({
    name: 'steadfast_cache_requests_total',
    help: 'Cache lookups by cache kind, tier (l1, l2) and result (hit, miss, stale: served within grace after a loader failure, error: L2 unreachable).',
    labelNames: ['cache', 'tier', 'result'] as const,
    registers: [metricsRegistry],
  }),
  rateLimitDecisions: new Counter({
    name: 'steadfast_rate_limit_decisions_total',
    help: 'Rate-limit decisions by policy and outcome (allowed, limited, fail_open, fail_closed, fallback_limited).',
    labelNames: ['policy', 'outcome'] as const,
    registers: [metricsRegistry],
  }),
  outboxLagSeconds: new Gauge({
    name: 'steadfast_outbox_lag_seconds',
    help: 'Age of the oldest unprocessed outbox event when the relay last looked (0 when empty).',
    registers: [metricsRegistry],
  }),
  outboxRelayed: new Counter({
    name: 'steadfast_outbox_events_relayed_total',
    help: 'Outbox events handed to Temporal by the relay, by topic.',
    labelNames: ['topic'] as const,
    registers: [metricsRegistry],
  }),
  circuitBreakerState: new Gauge({
    name: 'steadfast_circuit_breaker_state',
    help: 'Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open.',
    labelNames: ['breaker'] as const,
    registers: [metricsRegistry],
  }),
  auditWriteFailures: new Counter({
    name: 'steadfast_audit_write_failures_total',
    help: 'Audit events that could not be written after the request was answered (the change stands; the event is missing), by action.',
    labelNames: ['action'] as const,
    registers: [metricsRegistry],
  }),
  sdkScrapeFailures: new Counter({
    name: 'steadfast_sdk_metrics_scrape_failures_total',
    help: 'Worker /metrics scrapes that served our metrics without the Temporal SDK\'s (temporal_*): its exporter failed or did not answer in time.',
    registers: [metricsRegistry],
  }),
  deliveries: new Counter({
    name: 'steadfast_notification_deliveries_total',
    help: 'Notification and webhook delivery attempts by channel and outcome.',
    labelNames: ['channel', 'outcome'] as const,
    registers: [metricsRegistry],
  }),
};
