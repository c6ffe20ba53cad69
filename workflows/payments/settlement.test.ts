import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSettlementSchedule } from '../../workers/settlement-schedule.js';
import { createAccount, startHarness, type Call, type Harness } from '../../test/harness.js';

let h: Harness;
let call: Call;
let tenantId: string;
let merchant: string;
const HOUR_MS = 3_600_000;
/** A window in the past that only this file's (backdated) payments fall into. */
const WINDOW_END = Date.parse('1995-06-01T01:00:00.000Z');
const lagToWindow = () => Date.now() - (WINDOW_END + HOUR_MS / 2);

beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '20000' } });
  const tenant = await h.newTenant();
  call = tenant.call;
  tenantId = tenant.id;
  merchant = await createAccount(call, { type: 'merchant' });
});
afterAll(async () => {
  await h?.close();
});

async function capturedPayments(amounts: number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const amount of amounts) {
    const res = await call('POST', '/v1/payments', {
      body: { amount, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } },
    });
    expect(res.body.status).toBe('captured');
    ids.push(res.body.id);
  }
  await h.pool.query(`UPDATE payments SET created_at = $2 WHERE id = ANY($1::text[])`, [ids, new Date(WINDOW_END - HOUR_MS / 2)]);
  return ids;
}

const settle = (batchLimit: number) => h.temporal.workflow.execute('settlementRun', {
  taskQueue: h.config.TASK_QUEUE_PAYMENTS, workflowId: `settlement-test-${Date.now()}-${Math.random()}`,
  args: [{ intervalMs: HOUR_MS, lagMs: lagToWindow(), batchLimit }],
});

describe('settlement', () => {
  it('moves captured payments to settled in batches, exactly once even when run twice for the window', async () => {
    const ids = await capturedPayments([100, 250, 400]);
    const first = await settle(2);
    expect(first).toMatchObject({ windowEnd: new Date(WINDOW_END).toISOString(), settledCount: 3 });
    expect(first.totals.USD).toEqual({ payment_count: 3, amount_captured: 750, amount_refunded: 0 });
    const again = await settle(2);
    expect(again).toMatchObject({ batchId: first.batchId, settledCount: 0 });
    expect(again.totals).toEqual(first.totals);

    const { rows } = await h.pool.query(`SELECT status, settled_batch_id FROM payments WHERE id = ANY($1::text[])`, [ids]);
    expect(rows.every((r) => r.status === 'settled' && r.settled_batch_id === first.batchId)).toBe(true);
    const events = (await call('GET', `/v1/payments/${ids[0]}/events`)).body.data.map((e: { type: string }) => e.type);
    expect(events.filter((t: string) => t === 'payment.settled')).toHaveLength(1);

    // A settled payment can still be refunded, but no longer canceled.
    expect((await call('POST', `/v1/payments/${ids[1]}/refunds`, { body: { amount: 50 } })).status).toBe(201);
    expect((await call('GET', `/v1/payments/${ids[1]}`)).body).toMatchObject({ status: 'settled', amount_refunded: 50 });
    const cancel = await call('POST', `/v1/payments/${ids[2]}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.code).toBe('payment_invalid_state');
    const { rows: [count] } = await h.pool.query(`SELECT count(*)::int AS n FROM payments WHERE tenant_id = $1 AND status = 'settled'`, [tenantId]);
    expect(count.n).toBe(3);
  });

  it('a Temporal Schedule starts the settlement run', async () => {
    const scheduleId = `settlement-test-${Date.now()}`;
    await ensureSettlementSchedule(h.temporal, {
      scheduleId, taskQueue: h.config.TASK_QUEUE_PAYMENTS, intervalMs: HOUR_MS, lagMs: lagToWindow(), batchLimit: 10,
    });
    const handle = h.temporal.schedule.getHandle(scheduleId);
    try {
      await handle.trigger();
      let workflowId: string | undefined;
      await expect.poll(async () => (workflowId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId),
        { timeout: 20_000 }).toBeTruthy();
      const result = await h.temporal.workflow.getHandle(workflowId!).result();
      expect(result).toMatchObject({ windowEnd: new Date(WINDOW_END).toISOString() });
      // Updating an existing schedule is idempotent (the worker does this at every start).
      await ensureSettlementSchedule(h.temporal, {
        scheduleId, taskQueue: h.config.TASK_QUEUE_PAYMENTS, intervalMs: 2 * HOUR_MS, lagMs: lagToWindow(), batchLimit: 10,
      });
      expect((await handle.describe()).spec.intervals?.[0]?.every).toBe(2 * HOUR_MS);
    } finally {
      await handle.delete();
    }
  });
});
