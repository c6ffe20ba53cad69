import { describe, it } from 'vitest';
import { processorsControl } from '../../simulators/processors/client.js';
import { auditLedger } from '../../store/ledger/audit.js';
import { balanceOf, createAccount, startHarness } from '../../test/harness.js';
import { eventually } from '../../test/notifications.js';
import { localActivityAttempts } from '../../test/local-activities.js';
import { forgetStickyWorker, spawnWorkerProcess } from '../../test/worker-process.js';

/**
 * The worker process killed in the window that matters: the processor has done its part and our
 * transaction has committed, but Temporal has not recorded the step's completion. The steps are
 * local activities (release 0.2.0): a step's completion is recorded (a marker) only with the
 * workflow task that ran it, so the kill loses the whole task. A fresh worker gets the run once
 * that task times out (10 s), replays it, runs the step again and must find the effect done: one
 * capture or refund at the processor, one transition, one ledger posting. Each test has task
 * queues of its own (its own harness), so the two wait side by side.
 */
async function paymentThroughDoomedWorker(step: 'capturePayment' | 'refundPayment', captureMethod: 'automatic' | 'manual') {
  // The API has no worker of its own: the worker process runs the saga until the kill.
  const h = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '0' } });
  const doomed = spawnWorkerProcess(h, { FAULT_DELAY_AFTER_COMMIT_MS: '600000', FAULT_AFTER_COMMIT_STEPS: step });
  try {
    await doomed.ready();
    const tenant = await h.newTenant();
    const merchant = await createAccount(tenant.call, { type: 'merchant' });
    const created = await tenant.call('POST', '/v1/payments', {
      body: { amount: 1_000, currency: 'USD', merchant_account_id: merchant, capture_method: captureMethod, payment_method: { type: 'card', token: 'tok_visa' } },
    });
    const paymentId = created.body.id as string;
    const statusOf = async () => (await h.pool.query('SELECT status FROM payments WHERE id = $1', [paymentId])).rows[0].status as string;
    // The worker process authorizes it (and, automatic, captures it): poll, not the API's wait window.
    const settled = captureMethod === 'manual' ? 'authorized' : 'captured';
    await eventually(async () => {
      doomed.assertAlive();
      return statusOf();
    }, (status) => status === settled, 60_000);
    const sim = processorsControl(h.config.PROCESSORS_URL);
    /** The processor's own record of this payment's authorization. */
    const atProcessor = async () =>
      (await sim.charges('acq_primary')).authorizations.filter((a) => a.idempotency_key === `payment-${paymentId}:authorize`);
    const count = async (sql: string, params: unknown[]) => (await h.pool.query(sql, params)).rows[0].n as number;
    const close = async () => {
      await doomed.kill();
      await h.close();
    };
    return { h, doomed, tenant, merchant, paymentId, workflowId: `payment-${paymentId}`, statusOf, atProcessor, count, close };
  } catch (err) {
    await doomed.kill();
    await h.close();
    throw new Error(`${(err as Error).message}\n--- worker process output ---\n${doomed.output()}`, { cause: err });
  }
}

/** A request in flight across the crash: awaited later; a failure before then is not "unhandled". */
function inFlight<T>(promise: Promise<T>): Promise<T> {
  void promise.catch(() => undefined);
  return promise;
}

describe.concurrent('a worker process killed after a payment step committed, before Temporal recorded it', () => {
  it('capture: the processor captured once, the payment moved to captured once, the merchant was credited once', async ({ expect }) => {
    const t = await paymentThroughDoomedWorker('capturePayment', 'manual');
    try {
      const capturing = inFlight(t.tenant.call('POST', `/v1/payments/${t.paymentId}/capture`, { body: {} }));
      // The processor charged and the capture's transaction committed in the doomed worker…
      await expect.poll(async () => {
        t.doomed.assertAlive();
        return t.statusOf();
      }, { timeout: 60_000, interval: 50 }).toBe('captured');
      // …and Temporal has no record of the capture: its workflow task never completed.
      expect(await localActivityAttempts(t.h.temporal, t.workflowId, 'capturePayment')).toEqual([]);
      await t.doomed.kill();
      await forgetStickyWorker(t.h.temporal, t.workflowId);
      expect(await t.atProcessor()).toEqual([expect.objectContaining({ amount_captured: 1_000 })]);

      await t.h.startWorker();
      const answer = await capturing;
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ status: 'captured', amount_captured: 1_000 });
      // The capture ran again on the fresh worker (the doomed one never recorded it), against the committed one.
      expect(await localActivityAttempts(t.h.temporal, t.workflowId, 'capturePayment')).toHaveLength(1);

      const [authorization] = await t.atProcessor();
      expect(authorization).toMatchObject({ amount_captured: 1_000, voided: false });
      expect(authorization!.operations.filter((o) => o.kind === 'capture')).toEqual([expect.objectContaining({ status: 'succeeded' })]);
      expect(await t.count(`SELECT count(*)::int AS n FROM payment_events WHERE payment_id = $1 AND type = 'payment.captured'`, [t.paymentId])).toBe(1);
      expect(await t.count(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference_id = $1`, [t.paymentId])).toBe(1);
      expect(await t.count(`SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1 AND topic = 'payment.captured'`, [t.tenant.id])).toBe(1);
      expect((await balanceOf(t.tenant.call, t.merchant)).balance).toBe(1_000);
      expect((await auditLedger(t.h.pool, { tenantId: t.tenant.id })).problems).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('refund: the processor refunded once, one refund row and event, the merchant was debited once', async ({ expect }) => {
    const t = await paymentThroughDoomedWorker('refundPayment', 'automatic');
    try {
      const refunding = inFlight(t.tenant.call('POST', `/v1/payments/${t.paymentId}/refunds`, { body: { amount: 400 } }));
      // The processor refunded and the refund's transaction committed in the doomed worker…
      await expect.poll(async () => {
        t.doomed.assertAlive();
        return (await t.h.pool.query('SELECT status FROM refunds WHERE payment_id = $1', [t.paymentId])).rows.map((r) => r.status);
      }, { timeout: 60_000, interval: 50 }).toEqual(['succeeded']);
      // …and Temporal has no record of the refund: its workflow task never completed.
      expect(await localActivityAttempts(t.h.temporal, t.workflowId, 'refundPayment')).toEqual([]);
      await t.doomed.kill();
      await forgetStickyWorker(t.h.temporal, t.workflowId);
      expect(await t.atProcessor()).toEqual([expect.objectContaining({ amount_refunded: 400 })]);

      await t.h.startWorker();
      const answer = await refunding;
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      expect(answer.body).toMatchObject({ status: 'succeeded', amount: 400, payment_id: t.paymentId });
      // The refund ran again on the fresh worker (the doomed one never recorded it), against the committed one.
      expect(await localActivityAttempts(t.h.temporal, t.workflowId, 'refundPayment')).toHaveLength(1);

      const [authorization] = await t.atProcessor();
      expect(authorization).toMatchObject({ amount_captured: 1_000, amount_refunded: 400 });
      expect(authorization!.operations.filter((o) => o.kind === 'refund')).toEqual([expect.objectContaining({ status: 'succeeded' })]);
      const refunds = await t.h.pool.query('SELECT id, status, amount::int AS amount FROM refunds WHERE payment_id = $1', [t.paymentId]);
      expect(refunds.rows).toEqual([{ id: answer.body.id, status: 'succeeded', amount: 400 }]);
      expect(await t.count(`SELECT count(*)::int AS n FROM payment_events WHERE payment_id = $1 AND type LIKE 'payment.%refunded'`, [t.paymentId])).toBe(1);
      expect(await t.count(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference_id = $1 AND kind = 'payment_refund'`, [t.paymentId])).toBe(1);
      expect(await t.count(`SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1 AND topic = 'payment.refunded'`, [t.tenant.id])).toBe(1);
      expect(await balanceOf(t.tenant.call, t.merchant)).toEqual({ balance: 600, available: 600 });
      expect((await t.tenant.call('GET', `/v1/payments/${t.paymentId}`)).body).toMatchObject({ status: 'captured', amount_refunded: 400 });
      expect((await auditLedger(t.h.pool, { tenantId: t.tenant.id })).problems).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
