import { Client, Connection, ServiceError, type WorkflowClientInterceptor } from '@temporalio/client';
import { clientConnectionOptions } from '../platform/temporal-connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../platform/log.js';
import { eventually } from '../test/eventually.js';
import { ADMIN_KEY, balanceOf, createAccount, startHarness, tenantRowCounts, type Harness } from '../test/harness.js';
import { createApp } from './app.js';
import { dataConverterOf } from '../platform/payload-codec.js';

/**
 * Issue #12, "Ambiguous start": a start that fails AFTER the server accepted it (a deadline, a
 * dropped connection) must not undo the row, and a retry with the same Idempotency-Key must not
 * create a second business object (whose run would move the money a second time).
 */

const DEADLINE_EXCEEDED = 4;

const deadlineExceeded = () => Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: {} });

/** The server starts the run, then the client sees a deadline: the SDK's error for it, by shape. */
const deadlineAfterStart: WorkflowClientInterceptor = {
  async startWithDetails(input, next) {
    await next(input);
    throw new ServiceError('Failed to start Workflow', { cause: deadlineExceeded() });
  },
  // Payments start with an Update (Update-with-Start, issue #14): the server starts the run (here
  // through the plain client), and the deadline comes before any answer reaches this one.
  async startUpdateWithStart(input) {
    const { taskQueue, workflowId, args, workflowIdConflictPolicy, workflowIdReusePolicy, typedSearchAttributes } = input.workflowStartOptions;
    await h.temporal.workflow.start(input.workflowType, { taskQueue, workflowId, args, workflowIdConflictPolicy, workflowIdReusePolicy, typedSearchAttributes });
    throw deadlineExceeded();
  },
};

let h: Harness;
let flakyConnection: Connection;
let flakyApp: ReturnType<typeof createApp>;
beforeAll(async () => {
  h = await startHarness();
  flakyConnection = await Connection.connect(clientConnectionOptions(h.config));
  const flaky = new Client({ connection: flakyConnection, namespace: h.config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(h.config), interceptors: { workflow: [deadlineAfterStart] } });
  flakyApp = createApp({ config: { ...h.config, RATE_LIMIT_ENABLED: false }, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: flaky });
});
afterAll(async () => {
  await flakyConnection?.close();
  await h?.close();
});

async function flakyPost(apiKey: string, path: string, body: unknown, idempotencyKey?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const res = await flakyApp.request(path, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** What a 5xx does to the key: released, so the retry runs the handler again (instead of a replay). */
async function releaseKey(tenantId: string, key: string): Promise<void> {
  await h.pool.query('DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2', [tenantId, key]);
  await h.redis.del(`idem:${tenantId}:${key}`);
}

/**
 * The ambiguous start, then two retries with the same key: a replay of the stored answer, and,
 * with the key released as after a 5xx, a run of the handler that adopts the first row. Returns
 * the first answer; each retry names the same object.
 */
async function ambiguousThenRetries(tenant: { id: string; apiKey: string; call: Harness['admin'] }, path: string, body: unknown, key: string) {
  const logs = captureLogs();
  let first;
  let warnings;
  try {
    first = await flakyPost(tenant.apiKey, path, body, key);
    warnings = logs.lines().filter((line) => line.level === 'warn' && line.component === 'workflow-start' && line.tenantId === tenant.id);
  } finally {
    logs.stop();
  }
  expect(first.status, JSON.stringify(first.body)).toBe(202);
  expect(warnings).toHaveLength(1); // the ambiguous start, logged as a warning with the run's id
  expect(warnings[0]).toMatchObject({ msg: expect.stringMatching(/may or may not have happened/), workflowId: expect.any(String) });
  const replayed = await tenant.call('POST', path, { body, idempotencyKey: key });
  expect([replayed.status, replayed.body.id, replayed.headers.get('idempotent-replayed')]).toEqual([202, first.body.id, 'true']);
  await releaseKey(tenant.id, key);
  const adopted = await tenant.call('POST', path, { body, idempotencyKey: key });
  expect(adopted.status).toBeLessThan(300);
  expect([adopted.body.id, adopted.headers.get('idempotent-replayed')]).toEqual([first.body.id, null]);
  return first.body;
}

describe('an ambiguous start (the server started the run, the client saw an error)', () => {
  it('transfer with an Idempotency-Key: one transfer, one ledger transaction, the money moved once', async () => {
    const tenant = await h.newTenant();
    const from = await createAccount(tenant.call, { fundMinor: 1_000 });
    const to = await createAccount(tenant.call);
    const body = { from_account_id: from, to_account_id: to, amount: 300, currency: 'USD' };
    const first = await ambiguousThenRetries(tenant, '/v1/transfers', body, 'tr-ambiguous-1');
    expect(first).toMatchObject({ object: 'transfer', status: 'pending' });
    const done = await eventually(() => tenant.call('GET', `/v1/transfers/${first.id}`), (r) => r.body.status !== 'pending');
    expect(done.body.status).toBe('succeeded');
    // The same key for another request is refused, not a second transfer.
    await releaseKey(tenant.id, 'tr-ambiguous-1');
    const other = await tenant.call('POST', '/v1/transfers', { body: { ...body, amount: 301 }, idempotencyKey: 'tr-ambiguous-1' });
    expect([other.status, other.body.error?.code]).toEqual([422, 'idempotency_key_reused']);
    expect(await tenantRowCounts(h.pool, tenant.id)).toMatchObject({ transfers: 1, topups: 1, ledger_transactions: 2 });
    expect(await balanceOf(tenant.call, from)).toEqual({ balance: 700, available: 700 });
    expect(await balanceOf(tenant.call, to)).toEqual({ balance: 300, available: 300 });
  });

  it('transfer without a key: 202 pending, the row is kept and completes; the money moved once', async () => {
    const tenant = await h.newTenant();
    const from = await createAccount(tenant.call, { fundMinor: 1_000 });
    const to = await createAccount(tenant.call);
    const first = await flakyPost(tenant.apiKey, '/v1/transfers', { from_account_id: from, to_account_id: to, amount: 250, currency: 'USD' });
    expect([first.status, first.body.status]).toEqual([202, 'pending']);
    const done = await eventually(() => tenant.call('GET', `/v1/transfers/${first.body.id}`), (r) => r.body.status !== 'pending');
    expect(done.body.status).toBe('succeeded');
    expect(await tenantRowCounts(h.pool, tenant.id)).toMatchObject({ transfers: 1, ledger_transactions: 2 });
    expect(await balanceOf(tenant.call, from)).toEqual({ balance: 750, available: 750 });
  });

  it('top-up: one top-up, one credit', async () => {
    const tenant = await h.newTenant();
    const account = await createAccount(tenant.call);
    const body = { account_id: account, amount: 400, currency: 'USD', source: { type: 'bank_account', token: 'btok_success' } };
    const first = await ambiguousThenRetries(tenant, '/v1/topups', body, 'topup-ambiguous-1');
    const done = await eventually(() => tenant.call('GET', `/v1/topups/${first.id}`), (r) => r.body.status !== 'pending');
    expect(done.body.status).toBe('succeeded');
    expect(await tenantRowCounts(h.pool, tenant.id)).toMatchObject({ topups: 1, ledger_transactions: 1 });
    expect(await balanceOf(tenant.call, account)).toEqual({ balance: 400, available: 400 });
  });

  it('payment (wallet): one payment, one capture', async () => {
    const tenant = await h.newTenant();
    const wallet = await createAccount(tenant.call, { fundMinor: 1_000 });
    const merchant = await createAccount(tenant.call, { type: 'merchant' });
    const body = { amount: 600, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'wallet', account_id: wallet } };
    const first = await ambiguousThenRetries(tenant, '/v1/payments', body, 'pay-ambiguous-1');
    const done = await eventually(() => tenant.call('GET', `/v1/payments/${first.id}`), (r) => r.body.status === 'captured' || r.body.status === 'failed');
    expect(done.body.status).toBe('captured');
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM payments WHERE tenant_id = $1', [tenant.id]);
    expect(rows[0].n).toBe(1);
    expect(await balanceOf(tenant.call, wallet)).toEqual({ balance: 400, available: 400 });
    expect(await balanceOf(tenant.call, merchant)).toMatchObject({ balance: 600 });
  });

  it('notification: one notification, one run', async () => {
    const tenant = await h.newTenant();
    const body = { user_id: 'emp_1', template_id: 'transfer.received', data: { amount: '10.50', currency: 'USD', transfer_id: 'tr_1' }, channels: ['in_app'], priority: 'high' };
    const first = await ambiguousThenRetries(tenant, '/v1/notifications', body, 'ntf-ambiguous-1');
    const { rows } = await h.pool.query(
      `SELECT (SELECT count(*) FROM notifications WHERE tenant_id = $1)::int AS notifications,
              (SELECT count(*) FROM deliveries WHERE tenant_id = $1)::int AS deliveries`, [tenant.id],
    );
    expect(rows[0]).toEqual({ notifications: 1, deliveries: 1 });
    // Its run exists (no notification worker here: it stays queued), under the one id.
    await h.temporal.workflow.getHandle(`notification-${first.id}`).describe();
  });
});
