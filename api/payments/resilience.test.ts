import { WorkflowUpdateStage } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessorsServer } from '../../simulators/processors/server.js';
import { processorsControl } from '../../simulators/processors/client.js';
import { balanceOf, createAccount, startHarness, tenantRowCounts, type Harness } from '../../test/harness.js';
import { forgetStickyWorker, pendingActivity, spawnWorkerProcess } from '../../test/worker-process.js';
import { captureUpdate } from '../../workflows/payments/types.js';

/** This file injects faults: it gets a simulator of its own, so other files are not disturbed. */
let processors: Awaited<ReturnType<typeof startProcessorsServer>>;
let h: Harness;
const sim = () => processorsControl(processors.url);

beforeAll(async () => {
  processors = await startProcessorsServer({ port: 0 });
  h = await startHarness({
    worker: false,
    env: { PROCESSORS_URL: processors.url, API_WAIT_WINDOW_MS: '15000', PROCESSOR_TIMEOUT_MS: '500', PROCESSOR_BREAKER_HALF_OPEN_MS: '300' },
  });
});
afterAll(async () => {
  await h?.close();
  await processors?.close();
});

async function setup() {
  const tenant = await h.newTenant();
  const merchant = await createAccount(tenant.call, { type: 'merchant' });
  const pay = (token: string, captureMethod: 'automatic' | 'manual', idempotencyKey?: string) => tenant.call('POST', '/v1/payments', {
    body: { amount: 1_000, currency: 'USD', merchant_account_id: merchant, capture_method: captureMethod, payment_method: { type: 'card', token } },
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  return { tenant, merchant, pay };
}
const authorizationsOf = async (paymentId: string) =>
  (await sim().charges('acq_primary')).authorizations.filter((a) => a.idempotency_key === `payment-${paymentId}:authorize`);

describe('payments under failure', () => {
  it('50 concurrent creations with one Idempotency-Key: one payment, one charge, identical answers', async () => {
    const stop = await h.startWorker();
    try {
      const { tenant, pay } = await setup();
      const results = await Promise.all(Array.from({ length: 50 }, () => pay('tok_visa', 'automatic', 'order-7781')));
      expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]));
      expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
      const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM payments WHERE tenant_id = $1', [tenant.id]);
      expect(rows[0].n).toBe(1);
      expect(await authorizationsOf(results[0]!.body.id)).toEqual([expect.objectContaining({ amount_captured: 1_000 })]);
      expect((await tenantRowCounts(h.pool, tenant.id)).ledger_transactions).toBe(1);
    } finally {
      await stop();
    }
  });

  it('a worker killed between authorization and capture: a new worker captures, charged once', async () => {
    const { merchant, tenant, pay } = await setup();
    const child = spawnWorkerProcess(h);
    let paymentId: string;
    try {
      paymentId = (await pay('tok_visa', 'manual')).body.id;
      // The worker process authorizes it (its start-up may outlast the API's wait window: poll).
      await expect.poll(async () => {
        child.assertAlive();
        return (await tenant.call('GET', `/v1/payments/${paymentId}`)).body.status;
      }, { timeout: 60_000, interval: 100 }).toBe('authorized');
    } finally {
      await child.kill();
    }
    await forgetStickyWorker(h.temporal, `payment-${paymentId}`);
    expect((await balanceOf(tenant.call, merchant)).balance).toBe(0);
    const stop = await h.startWorker();
    try {
      await h.temporal.workflow.getHandle(`payment-${paymentId}`).executeUpdate(captureUpdate, { args: [{}] });
      const { rows } = await h.pool.query('SELECT status, amount_captured::int AS captured FROM payments WHERE id = $1', [paymentId]);
      expect(rows[0]).toEqual({ status: 'captured', captured: 1_000 });
      expect(await authorizationsOf(paymentId)).toEqual([expect.objectContaining({ amount_captured: 1_000, voided: false })]);
      const ledger = await h.pool.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference_id = $1`, [paymentId]);
      expect(ledger.rows[0].n).toBe(1);
      expect((await balanceOf(tenant.call, merchant)).balance).toBe(1_000);
    } finally {
      await stop();
    }
  });

  it('ops cancel of a payment stuck on a failing processor compensates it once the processor answers again', async () => {
    const stop = await h.startWorker();
    try {
      const { merchant, tenant, pay } = await setup();
      const authorized = await pay('tok_visa', 'manual');
      expect(authorized.body.status).toBe('authorized');
      const id = authorized.body.id as string;
      await sim().fault('acq_primary', 'error_500', 1_000);
      // The capture now retries against a processor that answers 500: the saga is stuck.
      await h.temporal.workflow.getHandle(`payment-${id}`).startUpdate(captureUpdate, { args: [{}], waitForStage: WorkflowUpdateStage.ACCEPTED });
      // The capture has failed against the processor at least once and is being retried.
      await expect.poll(async () => (await pendingActivity(h.temporal, `payment-${id}`, 'capturePayment'))?.attempt ?? 0,
        { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(2);
      expect((await tenant.call('GET', `/v1/payments/${id}`)).body.status).toBe('authorized');

      expect((await h.admin('POST', `/v1/ops/workflows/payment-${id}/cancel`)).status).toBe(200);
      // The compensation (the void) has failed against the processor at least once too.
      await expect.poll(async () => (await pendingActivity(h.temporal, `payment-${id}`, 'releaseAuthorization'))?.attempt ?? 0,
        { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(2);
      expect((await tenant.call('GET', `/v1/payments/${id}`)).body.status).toBe('authorized'); // the void waits too
      await sim().clearFaults();
      await expect.poll(async () => (await tenant.call('GET', `/v1/payments/${id}`)).body.status, { timeout: 30_000 }).toBe('reversed');
      expect((await tenant.call('GET', `/v1/payments/${id}`)).body).toMatchObject({ failure_code: 'canceled', amount_captured: 0 });
      expect(await authorizationsOf(id)).toEqual([expect.objectContaining({ voided: true, amount_captured: 0 })]);
      expect((await balanceOf(tenant.call, merchant)).balance).toBe(0);
      await expect.poll(async () => (await h.temporal.workflow.getHandle(`payment-${id}`).describe()).status.name).toBe('CANCELLED');
    } finally {
      await sim().clearFaults();
      await stop();
    }
  });
});
