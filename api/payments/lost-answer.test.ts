import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPaymentActivities } from '../../activities/payments/payment-activities.js';
import { createProcessorRouterFromConfig } from '../../activities/payments/processors/index.js';
import { processorsControl } from '../../simulators/processors/client.js';
import { findAccountTenantId } from '../../store/ledger/accounts.js';
import { auditLedger } from '../../store/ledger/audit.js';
import { eventually } from '../../test/eventually.js';
import { balanceOf, createAccount, startHarness, type Call, type Harness } from '../../test/harness.js';
import { holdRowLock } from '../../test/row-lock.js';

/**
 * An API process that dies (SIGKILL, or a PostgreSQL failover breaking the final UPDATE) after a
 * payment follow-up did its work and before its answer was stored under the Idempotency-Key
 * leaves the key's record `in_flight`. Once its lock is stale, the client's retry with the same
 * key and body takes the record over and runs the request again (api/middleware/idempotency.ts).
 * That second run must not act again and must answer as the first would have: the same status,
 * the same object (the same refund id), one effect at the processor and in our books.
 *
 * `loseAnswer` puts the record back exactly as the dead process left it: in flight, no answer,
 * locked when the request began (long ago), and nothing in Redis.
 */

let h: Harness;
let call: Call;
let tenantId: string;
let merchant: string;
const sim = () => processorsControl(inject('processorsUrl'));

beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '20000' } });
  const tenant = await h.newTenant();
  call = tenant.call;
  tenantId = tenant.id;
  merchant = await createAccount(call, { type: 'merchant' });
});
afterAll(async () => {
  const merchantTenant = await findAccountTenantId(h.pool, merchant);
  expect(merchantTenant).toBe(tenantId);
  expect((await auditLedger(h.pool, { tenantId })).problems).toEqual([]);
  await h?.close();
});

/** The record as a process killed before `completeIdempotencyKey` leaves it, its lock long stale. */
async function loseAnswer(key: string): Promise<void> {
  const { rowCount } = await h.pool.query(
    `UPDATE idempotency_keys SET status = 'in_flight', response_status = NULL, response_body = NULL,
       locked_at = now() - interval '1 hour'
     WHERE scope = $1 AND key = $2 AND status = 'done'`,
    [tenantId, key],
  );
  expect(rowCount).toBe(1);
  await h.redis.del(`idem:${tenantId}:${key}`);
}

/**
 * The first attempt still at work (its process hung, or lost its connection) when its lock went
 * stale: the record stays in flight, its lock moved back an hour, so the retry takes it over.
 */
async function staleLock(key: string): Promise<void> {
  const { rowCount } = await h.pool.query(
    `UPDATE idempotency_keys SET locked_at = now() - interval '1 hour' WHERE scope = $1 AND key = $2 AND status = 'in_flight'`,
    [tenantId, key],
  );
  expect(rowCount).toBe(1);
}
const takenOver = async (key: string) => (await h.pool.query(
  `SELECT 1 FROM idempotency_keys WHERE scope = $1 AND key = $2 AND locked_at > now() - interval '1 minute'`, [tenantId, key],
)).rowCount === 1;

/** Holds a payment's row lock in a transaction of its own: a step that needs it waits until `release`. */
const holdPayment = (paymentId: string) => holdRowLock(h.pool, 'payments', paymentId);

/** The key's record gone, as after a 5xx (the middleware releases the key: the client may retry). */
async function releaseKey(key: string): Promise<void> {
  await h.pool.query(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2`, [tenantId, key]);
  await h.redis.del(`idem:${tenantId}:${key}`);
}

const pay = async (over: Record<string, unknown> = {}) => {
  const res = await call('POST', '/v1/payments', {
    body: { amount: 8_000, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' }, ...over },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
};

/** The processor's operations on this payment's authorization (captures, voids, refunds), by kind. */
async function operations(paymentId: string): Promise<Record<string, number>> {
  const [auth] = (await sim().charges('acq_primary')).authorizations.filter((a) => a.idempotency_key === `payment-${paymentId}:authorize`);
  const counts: Record<string, number> = {};
  for (const op of auth?.operations ?? []) counts[op.kind] = (counts[op.kind] ?? 0) + 1;
  return counts;
}

const refundRows = async (paymentId: string) =>
  (await h.pool.query(`SELECT id, amount, status FROM refunds WHERE payment_id = $1 ORDER BY id`, [paymentId])).rows;
const eventTypes = async (paymentId: string) =>
  (await h.pool.query(`SELECT type FROM payment_events WHERE payment_id = $1 ORDER BY sequence`, [paymentId])).rows.map((r) => r.type as string);

describe('a retry after the answer was lost (the API died after the work) acts once and answers the same', () => {
  it('refund: the same refund id, one refund row, one processor refund, one ledger debit', async () => {
    const paymentId = await pay();
    const key = `refund-${randomUUID()}`;
    const post = () => call('POST', `/v1/payments/${paymentId}/refunds`, { body: { amount: 4_000 }, idempotencyKey: key });
    const first = await post();
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ object: 'refund', amount: 4_000, status: 'succeeded' });
    const afterFirst = (await balanceOf(call, merchant)).balance;

    await loseAnswer(key);
    const retry = await post();
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull(); // it ran again, and found the first refund
    expect(retry.body).toEqual(first.body);

    expect(await refundRows(paymentId)).toEqual([{ id: first.body.id, amount: '4000', status: 'succeeded' }]);
    expect((await call('GET', `/v1/payments/${paymentId}`)).body).toMatchObject({ status: 'captured', amount_refunded: 4_000 });
    expect(await operations(paymentId)).toEqual({ capture: 1, refund: 1 });
    expect((await balanceOf(call, merchant)).balance).toBe(afterFirst);
    // The answer is stored now: a third attempt is a plain replay.
    const third = await post();
    expect(third.headers.get('idempotent-replayed')).toBe('true');
    expect(third.body).toEqual(first.body);
  });

  it('refund: a retry while the first attempt is still at work joins it: one refund, both answers the same', async () => {
    const paymentId = await pay();
    const key = `refund-joined-${randomUUID()}`;
    const post = () => call('POST', `/v1/payments/${paymentId}/refunds`, { body: { amount: 4_000 }, idempotencyKey: key });
    const lock = await holdPayment(paymentId);
    let first: ReturnType<typeof post>;
    let retry: ReturnType<typeof post>;
    try {
      first = post();
      await eventually(lock.waiters, (n) => n === 1); // the first attempt's refund step waits for the payment's lock
      await staleLock(key);
      retry = post();
      await eventually(() => takenOver(key), Boolean);
      await new Promise((r) => setTimeout(r, 300)); // its Update reaches the saga while the first one's step waits
    } finally {
      await lock.release();
    }
    const [a, b] = await Promise.all([first, retry]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body).toEqual(a.body);
    expect(await refundRows(paymentId)).toEqual([{ id: a.body.id, amount: '4000', status: 'succeeded' }]);
    expect(await operations(paymentId)).toEqual({ capture: 1, refund: 1 });
  });

  it('full refund: the saga has closed (refunded), the retry still finds its refund', async () => {
    const paymentId = await pay({ amount: 3_000 });
    const key = `refund-all-${randomUUID()}`;
    const post = () => call('POST', `/v1/payments/${paymentId}/refunds`, { body: {}, idempotencyKey: key });
    const first = await post();
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ amount: 3_000, status: 'succeeded' });
    // Fully refunded: the run closes (its refund window waits only for a non-final payment).
    await h.temporal.workflow.getHandle(`payment-${paymentId}`).result();

    await loseAnswer(key);
    const retry = await post();
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(await refundRows(paymentId)).toHaveLength(1);
    expect(await operations(paymentId)).toEqual({ capture: 1, refund: 1 });
  });

  it('refund: the same key for another amount, after the key was released, is 422 and refunds nothing', async () => {
    const paymentId = await pay();
    const key = `refund-reused-${randomUUID()}`;
    const first = await call('POST', `/v1/payments/${paymentId}/refunds`, { body: { amount: 1_000 }, idempotencyKey: key });
    expect(first.status).toBe(201);
    await releaseKey(key);
    const other = await call('POST', `/v1/payments/${paymentId}/refunds`, { body: { amount: 2_000 }, idempotencyKey: key });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    // The same request again is still the first refund.
    const same = await call('POST', `/v1/payments/${paymentId}/refunds`, { body: { amount: 1_000 }, idempotencyKey: key });
    expect(same.status).toBe(201);
    expect(same.body.id).toBe(first.body.id);
    expect(await refundRows(paymentId)).toHaveLength(1);
    expect(await operations(paymentId)).toEqual({ capture: 1, refund: 1 });
  });

  it('refunds without a key are separate requests, as before', async () => {
    const paymentId = await pay({ amount: 2_000 });
    const a = await call('POST', `/v1/payments/${paymentId}/refunds`, { body: { amount: 500 } });
    const b = await call('POST', `/v1/payments/${paymentId}/refunds`, { body: { amount: 500 } });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(await refundRows(paymentId)).toHaveLength(2);
  });

  it('capture: 200 with the captured payment (not 409), one capture at the processor', async () => {
    const paymentId = await pay({ capture_method: 'manual' });
    const key = `capture-${randomUUID()}`;
    const post = () => call('POST', `/v1/payments/${paymentId}/capture`, { body: { amount: 5_000 }, idempotencyKey: key });
    const first = await post();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: paymentId, status: 'captured', amount_captured: 5_000 });

    await loseAnswer(key);
    const retry = await post();
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await operations(paymentId)).toEqual({ capture: 1 });
    expect(await eventTypes(paymentId)).toEqual(['payment.initiated', 'payment.authorized', 'payment.captured']);
  });

  it('cancel of an authorization: 200 reversed (not 409), one void', async () => {
    const paymentId = await pay({ capture_method: 'manual' });
    const key = `void-${randomUUID()}`;
    const post = () => call('POST', `/v1/payments/${paymentId}/cancel`, { body: { reason: 'requested_by_customer' }, idempotencyKey: key });
    const first = await post();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: paymentId, status: 'reversed' });
    await h.temporal.workflow.getHandle(`payment-${paymentId}`).result(); // reversed is final: the run has closed

    await loseAnswer(key);
    const retry = await post();
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await operations(paymentId)).toEqual({ void: 1 });
  });

  it('cancel of a capture (reversal): 200 reversed, one processor refund, one ledger reversal', async () => {
    const paymentId = await pay({ amount: 2_500 });
    const key = `reverse-${randomUUID()}`;
    const before = (await balanceOf(call, merchant)).balance;
    const post = () => call('POST', `/v1/payments/${paymentId}/cancel`, { idempotencyKey: key });
    const first = await post();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'reversed', amount_captured: 2_500 });

    await loseAnswer(key);
    const retry = await post();
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await operations(paymentId)).toEqual({ capture: 1, refund: 1 });
    expect((await balanceOf(call, merchant)).balance).toBe(before - 2_500);
  });

  /*
   * Chaos (a PostgreSQL failover under Temporal): the cancel's Update ran its local step — refund at
   * the processor, ledger reversal, `payment.reversed` — in a workflow task the server then lost; the
   * replay took another path (the refund window closed first) and the run ended without the
   * Update. The retry finds the run closed and the Update unknown. It happened: 200, not 409.
   */
  it('cancel whose workflow task was lost after its local step reversed the capture: the retry answers 200, another key 409', async () => {
    const paymentId = await pay({ amount: 3_100 });
    const key = `lost-task-${randomUUID()}`;
    const before = (await balanceOf(call, merchant)).balance;
    const activities = createPaymentActivities({ pool: h.pool, router: createProcessorRouterFromConfig(h.config, { pool: h.pool }) });
    // The lost task's step, as the saga runs it for this request (the same step key, the request's key).
    await new MockActivityEnvironment().run(activities.reversePayment, {
      tenantId, paymentId, idempotencyKey: `payment-${paymentId}:reverse`, requestKey: key,
    });
    const run = h.temporal.workflow.getHandle(`payment-${paymentId}`);
    await run.terminate('the run closed without the Update (its refund window passed on replay)');

    const retry = await call('POST', `/v1/payments/${paymentId}/cancel`, { idempotencyKey: key });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id: paymentId, status: 'reversed', amount_captured: 3_100 });
    const other = await call('POST', `/v1/payments/${paymentId}/cancel`, { idempotencyKey: `other-${randomUUID()}` });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('payment_invalid_state');
    expect(await operations(paymentId)).toEqual({ capture: 1, refund: 1 });
    expect((await balanceOf(call, merchant)).balance).toBe(before - 3_100);
    const events = await call('GET', `/v1/payments/${paymentId}/events`);
    expect(events.body.data.at(-1)).toMatchObject({ type: 'payment.reversed', data: { request: { idempotency_key: key } } });
  });
});
