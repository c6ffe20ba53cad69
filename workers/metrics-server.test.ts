import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { metrics, metricsRegistry } from '../platform/metrics.js';
import { startMetricsServer } from './metrics-server.js';
import { appendSdkMetrics } from './sdk-metrics.js';

/** An HTTP server on a free loopback port standing in for the SDK's exporter (a stalled one, a broken one). */
async function exporter(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

const scrapeFailures = async () => (await metricsRegistry.getSingleMetricAsString('steadfast_sdk_metrics_scrape_failures_total')).split('\n').at(-1);

describe('worker metrics server', () => {
  it('serves the registry in the Prometheus text format, and nothing else', async () => {
    metrics.outboxLagSeconds.set(1.5);
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toContain('steadfast_outbox_lag_seconds 1.5');
      expect(text).toContain('# TYPE steadfast_circuit_breaker_state gauge');
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('answers /healthz always, and /readyz only with a readiness (workers/health.test.ts)', async () => {
    const bare = await startMetricsServer({ host: '127.0.0.1', port: 0 });
    const report = { status: 'unavailable' as const, down: ['polling'], checks: { polling: 'down' as const } };
    const withReadiness = await startMetricsServer({ host: '127.0.0.1', port: 0, readiness: async () => report });
    try {
      const healthz = await fetch(bare.url.replace('/metrics', '/healthz'));
      expect([healthz.status, await healthz.json()]).toEqual([200, { status: 'ok' }]);
      expect((await fetch(bare.url.replace('/metrics', '/readyz'))).status).toBe(404);
      const readyz = await fetch(withReadiness.url.replace('/metrics', '/readyz'));
      expect([readyz.status, await readyz.json()]).toEqual([503, report]);
    } finally {
      await bare.close();
      await withReadiness.close();
    }
  });

  it('appends the SDK exporter\'s metrics to ours', async () => {
    const sdk = await exporter((_req, res) => res.writeHead(200).end('# HELP temporal_worker_start_total Starts\n# TYPE temporal_worker_start_total counter\ntemporal_worker_start_total{task_queue="q"} 3\n'));
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, sdkMetricsUrl: sdk.url });
    try {
      const text = await (await fetch(server.url)).text();
      expect(text).toContain('# TYPE steadfast_circuit_breaker_state gauge');
      expect(text).toMatch(/# TYPE temporal_worker_start_total counter\ntemporal_worker_start_total\{task_queue="q"\} 3\n$/);
    } finally {
      await server.close();
      await sdk.close();
    }
  });

  it('serves ours within the bound when the SDK exporter stalls or fails, and counts each miss', async () => {
    const stalled = await exporter(() => undefined); // accepts, never answers
    const broken = await exporter((_req, res) => res.writeHead(500).end('temporal_nothing 1\n'));
    const servers = await Promise.all([stalled, broken].map((sdk) => startMetricsServer({ host: '127.0.0.1', port: 0, sdkMetricsUrl: sdk.url, sdkTimeoutMs: 300 })));
    try {
      for (const server of servers) {
        const before = await scrapeFailures();
        const startedMs = Date.now();
        const res = await fetch(server.url);
        const text = await res.text();
        expect(res.status).toBe(200);
        expect(Date.now() - startedMs).toBeLessThan(2_000);
        expect(text).toContain('# TYPE steadfast_circuit_breaker_state gauge');
        expect(text).not.toMatch(/^temporal_/m);
        expect(Number(before?.split(' ')[1]) + 1).toBe(Number((await scrapeFailures())?.split(' ')[1]));
      }
    } finally {
      await Promise.all(servers.map((server) => server.close()));
      await Promise.all([stalled.close(), broken.close()]);
    }
  });
});

describe('appendSdkMetrics', () => {
  it('leaves out an SDK family ours declares already, with its samples, and keeps the others', () => {
    const ours = '# HELP steadfast_x_total X\n# TYPE steadfast_x_total counter\nsteadfast_x_total 1\n';
    const sdk = [
      '# HELP steadfast_x_total clash', '# TYPE steadfast_x_total counter', 'steadfast_x_total{a="b"} 9',
      '# HELP temporal_h_seconds H', '# TYPE temporal_h_seconds histogram',
      'temporal_h_seconds_bucket{le="+Inf"} 2', 'temporal_h_seconds_sum 0.5', 'temporal_h_seconds_count 2', '',
    ].join('\n');
    expect(appendSdkMetrics(ours, sdk)).toBe(`${ours}# HELP temporal_h_seconds H\n# TYPE temporal_h_seconds histogram\n`
      + 'temporal_h_seconds_bucket{le="+Inf"} 2\ntemporal_h_seconds_sum 0.5\ntemporal_h_seconds_count 2\n');
    expect(appendSdkMetrics(ours, '')).toBe(ours);
  });
});
