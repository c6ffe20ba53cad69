import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../platform/log.js';
import { createAccount, startHarness, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';

/**
 * DATABASE_READ_URL (api/context.ts `readPool`): the audit logs and the ledger audit read there,
 * nothing else does. The read pool here is the run's database with read-only sessions, as on a
 * standby (a write through it would fail with 25006); it counts every client it lends out
 * (`pool.query` borrows through `connect` too).
 */

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: boolean | Error) => void) => void;

class CountingPool extends pg.Pool {
  lent = 0;

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    this.lent++;
    return callback ? super.connect(callback) : super.connect();
  }
}

let h: Harness;
let readPool: CountingPool;
beforeAll(async () => {
  readPool = new CountingPool({
    connectionString: inject('databaseUrl'), max: 2, application_name: 'steadfast-read-test',
    options: '-c default_transaction_read_only=on',
  });
  h = await startHarness({ readPool }); // the worker finishes the transfer below
});
afterAll(async () => {
  await h?.close();
  await readPool?.end();
});

/** How many clients the read pool lent while `request` ran. */
async function readPoolUses(request: () => Promise<{ status: number; body: unknown }>): Promise<number> {
  const before = readPool.lent;
  const res = await request();
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return readPool.lent - before;
}

describe('the read pool (DATABASE_READ_URL)', () => {
  it('serves the two audit logs and the ledger audit, on read-only sessions', async () => {
    const tenant = await h.newTenant();
    const accountId = await createAccount(tenant.call);

    let listed: Record<string, any> = {};
    expect(await readPoolUses(async () => {
      const res = await tenant.call('GET', '/v1/audit-log?action=account.create');
      listed = res.body;
      return res;
    })).toBeGreaterThan(0);
    expect(listed.data.map((e: { resource_id: string }) => e.resource_id)).toEqual([accountId]);

    expect(await readPoolUses(async () => {
      const res = await h.admin('GET', `/v1/ops/audit-log?tenant_id=${tenant.id}&action=account.create`);
      listed = res.body;
      return res;
    })).toBeGreaterThan(0);
    expect(listed.data.map((e: { resource_id: string }) => e.resource_id)).toEqual([accountId]);

    let report: Record<string, any> = {};
    expect(await readPoolUses(async () => {
      const res = await h.admin('GET', '/v1/ops/ledger/audit');
      report = res.body;
      return res;
    })).toBeGreaterThan(0);
    expect(report.checked.accounts).toBeGreaterThan(0);
  });

  it('is not used by the reads that decide money or follow a client’s own write, nor by any write', async () => {
    const tenant = await h.newTenant();
    const uses = readPool.lent;
    const accountId = await createAccount(tenant.call);
    const other = await createAccount(tenant.call);
    const transfer = await tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: accountId, to_account_id: other, amount: 100, currency: 'USD' }, idempotencyKey: randomUUID(),
    });
    expect(transfer.status).toBe(201);
    for (const path of [`/v1/accounts/${accountId}`, `/v1/accounts/${accountId}/entries`, `/v1/transfers/${transfer.body.id}`]) {
      expect(await readPoolUses(() => tenant.call('GET', path)), path).toBe(0);
    }
    expect(readPool.lent).toBe(uses);
  });

  it('/readyz checks it, and reports it down as degraded (200), not unavailable', async () => {
    expect(await (await h.app.request('/readyz')).json()).toMatchObject({ status: 'ok', checks: { postgres: 'ok', postgres_read: 'ok' } });

    const deadReadPool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/steadfast', max: 1, connectionTimeoutMillis: 500 });
    const logs = captureLogs();
    try {
      const config = { ...h.config, RATE_LIMIT_ENABLED: false };
      const app = createApp({ config, adminApiKey: 'unused-admin-key-0123456789', pool: h.pool, readPool: deadReadPool, redis: h.redis, temporal: h.temporal });
      const res = await app.request('/readyz');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        status: 'degraded', down: [], degraded: ['postgres_read'], checks: { postgres: 'ok', postgres_read: 'down' },
      });
      // The operator learns why from the log.
      expect(logs.lines().filter((line) => line.msg === 'dependency is down').map((line) => line.dependency)).toEqual(['postgres_read']);
    } finally {
      logs.stop();
      await deadReadPool.end();
    }
  });
});
