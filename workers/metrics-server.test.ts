import { describe, expect, it } from 'vitest';
import { metrics } from '../platform/metrics.js';
import { startMetricsServer } from './metrics-server.js';

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
});
