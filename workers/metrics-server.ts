import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics, metricsRegistry } from '../platform/metrics.js';
import { appendSdkMetrics, scrapeSdkMetrics, SDK_SCRAPE_TIMEOUT_MS } from './sdk-metrics.js';
import type { ReadinessReport } from './health.js';

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** The Temporal SDK's exporter (workers/sdk-metrics.ts `installRuntime`): its `temporal_*` metrics follow ours. */
  sdkMetricsUrl?: string | null;
  /** How long a scrape waits for the SDK's exporter; past it, ours are served alone (and the failure counted). */
  sdkTimeoutMs?: number;
  /** `/readyz` (workers/health.ts `workerReadiness`): 200 when its status is ok, else 503. Absent: no `/readyz`. */
  readiness?: () => Promise<ReadinessReport>;
}

/**
 * The worker process's `/metrics` (Prometheus text, no auth, its own port: bind it to a private
 * interface): circuit breakers, the outbox relay's lag, delivery attempts — what only the worker
 * sees — followed by the Temporal SDK's own (`temporal_*`), so one scrape has both. The API serves
 * its own on the API port, behind the admin key. Its health on the same port, as the API's
 * (contract §0): `/healthz` (the process is up) and `/readyz` (the image's HEALTHCHECK).
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const render = renderer(options.sdkMetricsUrl ?? null, options.sdkTimeoutMs ?? SDK_SCRAPE_TIMEOUT_MS);
  const { readiness } = options;
  const server: Server = createServer((req, res) => {
    const json = (status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/healthz') {
      json(200, { status: 'ok' });
    } else if (req.method === 'GET' && req.url === '/readyz' && readiness) {
      readiness().then((report) => json(report.status === 'ok' ? 200 : 503, report), () => res.writeHead(500).end());
    } else if (req.method === 'GET' && req.url === '/metrics') {
      render().then(
        (text) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/**
 * One scrape's text. The SDK's exporter is asked first (bounded by `timeoutMs`), so a failure is
 * counted in the very scrape that misses its metrics; ours are served either way.
 */
function renderer(sdkMetricsUrl: string | null, timeoutMs: number): () => Promise<string> {
  if (sdkMetricsUrl === null) return () => metricsRegistry.metrics();
  return async () => {
    const sdk = await scrapeSdkMetrics(sdkMetricsUrl, timeoutMs).catch(() => {
      metrics.sdkScrapeFailures.inc();
      return '';
    });
    return appendSdkMetrics(await metricsRegistry.metrics(), sdk);
  };
}
