import { Runtime, type MetricsExporterConfig, type RuntimeOptions } from '@temporalio/worker';
import { freePort } from '../platform/temporal-dev-server.js';

/**
 * The Temporal SDK's own metrics (`temporal_*`: schedule-to-start latencies, task slots, sticky
 * cache, workflow and activity outcomes) in the worker's one `/metrics`. The SDK's core (Rust)
 * exports them with its Prometheus exporter on a private loopback port of this process; the
 * worker's metrics server fetches that text on each scrape and appends it to prom-client's
 * (workers/metrics-server.ts). Chosen over the SDK's buffered exporter (`MetricsBuffer`, marked
 * experimental in 1.24): that one hands over raw updates, and re-aggregating them into prom-client
 * histograms would be a second implementation of what the core's exporter already does.
 */

/** How long a scrape waits for the SDK's exporter before it serves our metrics alone. */
export const SDK_SCRAPE_TIMEOUT_MS = 2_000;

/**
 * Latency buckets in seconds. The core's default (0.1, 0.5, 1, 5, 10, 100, 1000 s) cannot show a
 * 30–40 ms task hand-off: everything under 100 ms is one bucket.
 */
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** A run's whole life: a transfer takes milliseconds, a leave request days. */
const END_TO_END_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3_600, 86_400, 604_800];

/** Keyed by the core's base names (no prefix, no unit suffix): that is how the override matches. */
const HISTOGRAM_BUCKETS_SECONDS: Record<string, number[]> = {
  workflow_task_schedule_to_start_latency: LATENCY_BUCKETS_SECONDS,
  workflow_task_execution_latency: LATENCY_BUCKETS_SECONDS,
  workflow_task_replay_latency: LATENCY_BUCKETS_SECONDS,
  workflow_activation_execution_latency: LATENCY_BUCKETS_SECONDS,
  activity_schedule_to_start_latency: LATENCY_BUCKETS_SECONDS,
  activity_execution_latency: LATENCY_BUCKETS_SECONDS,
  local_activity_execution_latency: LATENCY_BUCKETS_SECONDS,
  request_latency: LATENCY_BUCKETS_SECONDS,
  activity_succeed_endtoend_latency: END_TO_END_BUCKETS_SECONDS,
  local_activity_succeed_endtoend_latency: END_TO_END_BUCKETS_SECONDS,
  workflow_endtoend_latency: END_TO_END_BUCKETS_SECONDS,
};

/**
 * The core's Prometheus exporter on `bindAddress`, named the way prom-client names ours: durations
 * in seconds with the unit in the name (`temporal_workflow_task_schedule_to_start_latency_seconds`),
 * counters ending in `_total`.
 */
export function sdkMetricsExporter(bindAddress: string): MetricsExporterConfig {
  return {
    metricPrefix: 'temporal_',
    attachServiceName: true,
    prometheus: {
      bindAddress,
      useSecondsForDurations: true,
      unitSuffix: true,
      countersTotalSuffix: true,
      histogramBucketOverrides: HISTOGRAM_BUCKETS_SECONDS,
    },
  };
}

/** Attempts at a free port: one found free may be taken by someone else before the core binds it. */
const BIND_ATTEMPTS_MAX = 5;

/**
 * Installs the process's Temporal Runtime (once per process, before anything creates it) with
 * `options`, plus, when `sdkMetrics` is set, the core's Prometheus exporter on a free loopback
 * port. Returns that exporter's URL (null without it), for `startMetricsServer({ sdkMetricsUrl })`.
 *
 * @example const sdkMetricsUrl = await installRuntime({ logger }, { sdkMetrics: config.WORKER_METRICS_PORT > 0 });
 */
export async function installRuntime(options: RuntimeOptions, { sdkMetrics }: { sdkMetrics: boolean }): Promise<string | null> {
  if (!sdkMetrics) {
    Runtime.install(options);
    return null;
  }
  for (let attempt = 1; ; attempt++) {
    const address = `127.0.0.1:${await freePort()}`;
    try {
      Runtime.install({ ...options, telemetryOptions: { ...options.telemetryOptions, metrics: sdkMetricsExporter(address) } });
      return `http://${address}/metrics`;
    } catch (err) {
      // The core refuses the runtime when its exporter cannot bind ("Address already in use").
      if (attempt >= BIND_ATTEMPTS_MAX || !/address already in use/i.test(String(err))) throw err;
    }
  }
}

/** The SDK's exposition text; rejects when the exporter does not answer 200 within `timeoutMs`. */
export async function scrapeSdkMetrics(url: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`SDK metrics exporter answered ${res.status}`);
  return res.text();
}

/**
 * Our exposition followed by the SDK's. A metric family is declared once per exposition: an SDK
 * family whose name ours already declares (only possible with a prefix changed to ours) is left
 * out, with its samples, so Prometheus does not reject the whole scrape.
 */
export function appendSdkMetrics(ours: string, sdk: string): string {
  const declared = new Set([...ours.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  const kept: string[] = [];
  let family: string | null = null;
  for (const line of sdk.split('\n')) {
    const comment = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    if (comment) family = comment[1]!;
    else if (line !== '' && !line.startsWith('#')) family = familyOfSample(line, family);
    if (line !== '' && (family === null || !declared.has(family))) kept.push(line);
  }
  if (kept.length === 0) return ours;
  return `${ours.endsWith('\n') ? ours : `${ours}\n`}${kept.join('\n')}\n`;
}

/** The family a sample belongs to: the current one when the name is it or one of its histogram/summary series. */
function familyOfSample(line: string, current: string | null): string {
  const name = /^[^{\s]+/.exec(line)![0];
  const isOfCurrent = current !== null && name.startsWith(current) && ['', '_bucket', '_sum', '_count'].includes(name.slice(current.length));
  return isOfCurrent ? current : name;
}
