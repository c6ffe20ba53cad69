import { WorkflowUpdateStage } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessorsServer } from '../../simulators/processors/server.js';
import { processorsControl } from '../../simulators/processors/client.js';
import { temporal as proto } from '@temporalio/proto';
import { ADMIN_KEY, balanceOf, createAccount, startHarness, tenantRowCounts, type Harness } from '../../test/harness.js';
import { forgetStickyWorker, spawnWorkerProcess } from '../../test/worker-process.js';
import { captureUpdate } from '../../workflows/payments/types.js';
import { createApp } from '../app.js';

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
/**
 * Requests the primary acquirer has received (faulted ones included). The saga's steps are local
 * activities: their retries leave no trace in Temporal until they end, so the processor counts them.
 */
const primaryRequests = async () => (await sim().charges('acq_primary')).requests_received;
/** Whether a workflow task has started since ops asked the run to cancel (the run has seen it). */
async function sawCancel(workflowId: string): Promise<boolean> {
  const EventType = proto.api.enums.v1.EventType;
  const types = ((await h.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? []).map((e) => e.eventType);
  const asked = types.indexOf(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  return asked >= 0 && types.slice(asked).includes(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
}

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
      const beforeCapture = await primaryRequests();
      // The capture now retries against a processor that answers 500: the saga is stuck.
      await h.temporal.workflow.getHandle(`payment-${id}`).startUpdate(captureUpdate, { args: [{}], waitForStage: WorkflowUpdateStage.ACCEPTED });
      // The capture has failed against the processor at least once and is being retried.
      await expect.poll(async () => (await primaryRequests()) - beforeCapture, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(2);
      expect((await tenant.call('GET', `/v1/payments/${id}`)).body.status).toBe('authorized');

      expect((await h.admin('POST', `/v1/ops/workflows/payment-${id}/cancel`)).status).toBe(200);
      const beforeVoid = await primaryRequests();
      // The compensation (the void) has failed against the processor at least twice too (of
      // three requests after the cancel, one at most is the capture attempt it interrupted).
      await expect.poll(async () => (await primaryRequests()) - beforeVoid, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(3);
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

  it('ops cancel of a payment whose creation waits on its authorization: the waiting request answers the compensated payment', async () => {
    const stop = await h.startWorker();
    try {
      const { tenant, merchant } = await setup();
      // An API that waits long enough for the cancel to reach the run (below) within its window.
      const patient = createApp({ config: { ...h.config, API_WAIT_WINDOW_MS: 45_000, RATE_LIMIT_ENABLED: false }, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal });
      // Both acquirers of the card route fail: the authorization retries, the request waits on the saga's Update.
      await sim().fault('acq_primary', 'error_500', 1_000);
      await sim().fault('acq_secondary', 'error_500', 1_000);
      const creating = patient.request('/v1/payments', {
        method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 1_000, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } }),
      });
      const idOf = async () => (await h.pool.query('SELECT id FROM payments WHERE tenant_id = $1', [tenant.id])).rows[0]?.id as string | undefined;
      await expect.poll(idOf, { timeout: 10_000, interval: 50 }).toBeDefined();
      const workflowId = `payment-${(await idOf())!}`;
      const beforeRetry = await primaryRequests();
      await expect.poll(async () => (await primaryRequests()) - beforeRetry, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(2);

      expect((await h.admin('POST', `/v1/ops/workflows/${workflowId}/cancel`)).status).toBe(200);
      // A run sees the cancel in its next workflow task: the one in flight runs the authorization as
      // a local activity, so that is at its heartbeat (~8 s) at most. Till then the faults stay, or
      // the authorization would succeed and the cancel would find a captured payment (also correct:
      // reversed, but not what this test is about).
      await expect.poll(async () => sawCancel(workflowId), { timeout: 20_000, interval: 100 }).toBe(true);
      await sim().clearFaults(); // the abandon asks the processors what they did with the key
      const created = await creating;
      const body = (await created.json()) as Record<string, unknown>;
      expect([created.status, body.failure_code]).toEqual([201, 'canceled']);
      expect(['failed', 'reversed']).toContain(body.status);
      await expect.poll(async () => (await h.temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('CANCELLED');
      // Whatever the processor authorized meanwhile is voided.
      expect((await authorizationsOf(body.id as string)).filter((a) => !a.voided)).toEqual([]);
    } finally {
      await sim().clearFaults();
      await stop();
    }
  });
});
