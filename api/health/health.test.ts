import { Client, Connection } from '@temporalio/client';
import { clientConnectionOptions } from '../../platform/temporal-connection.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../../platform/log.js';
import { createApp } from '../app.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

describe('health and docs', () => {
  it('/healthz and /readyz answer without a key', async () => {
    expect((await h.app.request('/healthz')).status).toBe(200);
    const ready = await h.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', down: [], checks: { postgres: 'ok', redis: 'ok', temporal: 'ok' } });
  });

  it('/readyz answers 503 naming Redis when Redis is unreachable, `down` without the driver’s error text', async () => {
    const deadRedis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
    const connection = await Connection.connect(clientConnectionOptions(h.config));
    const logs = captureLogs();
    try {
      const config = { ...h.config, RATE_LIMIT_ENABLED: false }; // the limiter would be on the dead Redis too
      const app = createApp({ config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: deadRedis, temporal: new Client({ connection }) });
      const res = await app.request('/readyz');
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        status: 'unavailable', down: ['redis'], degraded: [],
        checks: { postgres: 'ok', redis: 'down', temporal: 'ok', rate_limiter: 'disabled' },
      });
      // The operator gets the driver's error in the log (once while it stays down); the answer does not.
      await app.request('/readyz');
      const lines = logs.lines().filter((line) => line.msg === 'dependency is down' && line.dependency === 'redis');
      expect(lines).toHaveLength(1);
      const raw = (lines[0]!.err as { message: string }).message; // e.g. "Stream isn't writeable and enableOfflineQueue options is false"
      expect(raw.length).toBeGreaterThan(10);
      expect(text).not.toContain(raw);
    } finally {
      logs.stop();
      deadRedis.disconnect();
      await connection.close();
    }
  });

  it('/openapi.json is OpenAPI 3.1 generated from the request schemas', async () => {
    const doc = (await (await h.app.request('/openapi.json')).json()) as Record<string, any>;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/v1/admin/tenants', '/v1/accounts', '/v1/accounts/{id}', '/v1/accounts/{id}/entries',
      '/v1/topups', '/v1/topups/{id}', '/v1/transfers', '/v1/transfers/{id}', '/v1/ops/ledger/audit',
    ]));
    const transfer = doc.components.schemas.CreateTransfer;
    expect(transfer.required).toEqual(expect.arrayContaining(['from_account_id', 'to_account_id', 'amount', 'currency']));
    expect(transfer.additionalProperties).toBe(false);
    expect(transfer.properties.amount).toMatchObject({ type: 'integer', minimum: 1, maximum: 1_000_000_000_000 });
  });

  it('/docs renders the API reference', async () => {
    const res = await h.app.request('/docs');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/openapi.json');
  });
});
