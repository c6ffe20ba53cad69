import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { PaymentError, PaymentInvariantError, PaymentStateError } from '../../domain/payments/errors.js';
import type { Payment } from '../../domain/payments/types.js';
import { createPool, withTransaction } from '../db.js';
import { TEST_POOL_MAX, testConfig } from '../../test/harness.js';
import { insertAccount } from '../ledger/accounts.js';
import { completeRefund, failRefund, reserveRefund } from './refunds.js';
import { findPayment, insertPayment, listEvents, listPayments } from './payments.js';
import { claimSettlementBatch } from './settlement-batches.js';
import { applyTransition, type TransitionInput } from './transitions.js';

let pool: pg.Pool;
let tenantId: string;
let merchantId: string;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, TEST_POOL_MAX);
  tenantId = (await createTenant(pool, 'payment repository tests')).id;
  merchantId = (await insertAccount(pool, { tenantId, type: 'merchant', currency: 'USD' })).id;
});
afterAll(async () => {
  await pool?.end();
});

const newPayment = (amountMinor = 100, currency = 'USD') =>
  insertPayment(pool, {
    tenantId, merchantAccountId: merchantId, amountMinor, currency, captureMethod: 'manual',
    paymentMethod: { type: 'card', token: 'tok_visa' },
  });

type Move = Omit<TransitionInput, 'tenantId' | 'paymentId' | 'idempotencyKey'> & { idempotencyKey?: string };
const move = (paymentId: string, input: Move) =>
  withTransaction(pool, (c) => applyTransition(c, { tenantId, paymentId, idempotencyKey: `${paymentId}:${input.event}`, ...input }));

async function capturedPayment(amountMinor = 100, currency = 'USD'): Promise<Payment> {
  const payment = await newPayment(amountMinor, currency);
  await move(payment.id, { event: 'authorize' });
  return (await move(payment.id, { event: 'capture' })).payment;
}

async function eventTypes(paymentId: string): Promise<string[]> {
  return (await listEvents(pool, tenantId, paymentId, { limit: 100 })).data.map((e) => e.type);
}

describe('payments repository', () => {
  it('inserts a payment with its payment.initiated event; another tenant cannot see it', async () => {
    const payment = await newPayment();
    expect(payment).toMatchObject({ status: 'initiated', version: 1, amountMinor: 100, amountCapturableMinor: 0 });
    expect(await eventTypes(payment.id)).toEqual(['payment.initiated']);
    const other = (await createTenant(pool, 'other tenant')).id;
    expect(await findPayment(pool, other, payment.id)).toBeNull();
    expect((await listPayments(pool, other, { limit: 10 })).data).toEqual([]);
  });

  it('refuses a card number where a token belongs', async () => {
    await expect(insertPayment(pool, {
      tenantId, merchantAccountId: merchantId, amountMinor: 100, currency: 'USD', captureMethod: 'automatic',
      paymentMethod: { type: 'card', token: '4242 4242 4242 4242' },
    })).rejects.toMatchObject({ code: '23514' });
  });

  it('appends one event per transition, in order; a replayed key writes nothing', async () => {
    const payment = await newPayment(100);
    const authorized = await move(payment.id, {
      event: 'authorize', patch: { processor: 'primary', processorReference: 'ch_1', paymentMethodBrand: 'visa', paymentMethodLast4: '4242' },
    });
    expect(authorized.payment).toMatchObject({ status: 'authorized', amountCapturableMinor: 100, processor: 'primary', version: 2 });
    const replay = await move(payment.id, { event: 'authorize' });
    expect(replay).toMatchObject({ replayed: true, payment: { status: 'authorized', version: 2 } });

    const captured = await move(payment.id, { event: 'capture', captureAmountMinor: 60 });
    expect(captured.payment).toMatchObject({ status: 'captured', amountCapturedMinor: 60, amountCapturableMinor: 0, version: 3 });
    await move(payment.id, { event: 'capture' }); // the same key again: a replay

    const { data } = await listEvents(pool, tenantId, payment.id, { limit: 100 });
    expect(data.map((e) => [e.sequence, e.type])).toEqual([[1, 'payment.initiated'], [2, 'payment.authorized'], [3, 'payment.captured']]);
    expect(data[2]!.data).toMatchObject({ previous_status: 'authorized', status: 'captured', amount_captured: 60 });
    const page2 = await listEvents(pool, tenantId, payment.id, { limit: 2, startingAfter: data[0]!.id });
    expect(page2.data.map((e) => e.sequence)).toEqual([2, 3]);
    expect(page2.has_more).toBe(false);
  });

  it('merchant-facing events go to the outbox with the transition, keyed by the payment event id', async () => {
    const payment = await newPayment(100);
    await move(payment.id, { event: 'authorize' });
    await expect(withTransaction(pool, async (c) => {
      await applyTransition(c, { tenantId, paymentId: payment.id, event: 'capture', idempotencyKey: 'rolled-back' });
      throw new Error('rollback');
    })).rejects.toThrow('rollback');
    await move(payment.id, { event: 'capture', captureAmountMinor: 40 });
    const { data } = await listEvents(pool, tenantId, payment.id, { limit: 100 });
    const { rows } = await pool.query(
      `SELECT topic, idempotency_key, payload FROM outbox WHERE tenant_id = $1 AND payload->>'payment_id' = $2`, [tenantId, payment.id],
    );
    // Only the committed capture: payment.initiated and payment.authorized are not merchant events.
    expect(rows).toEqual([{
      topic: 'payment.captured', idempotency_key: `payment_event:${data[2]!.id}`,
      payload: {
        payment_id: payment.id, event_type: 'payment.captured', status: 'captured', amount: 100, currency: 'USD',
        amount_captured: 40, amount_refunded: 0, merchant_account_id: merchantId, failure_code: null, decline_code: null, metadata: {},
      },
    }]);
  });

  it('refuses illegal transitions and writes nothing', async () => {
    const payment = await newPayment(100);
    const before = await eventTypes(payment.id);
    await expect(move(payment.id, { event: 'capture' })).rejects.toBeInstanceOf(PaymentStateError);
    await expect(move(payment.id, { event: 'reverse' })).rejects.toMatchObject({ code: 'payment_invalid_state' });
    await move(payment.id, { event: 'authorize' });
    await expect(move(payment.id, { event: 'capture', captureAmountMinor: 101 })).rejects.toMatchObject({ code: 'amount_too_large' });
    await move(payment.id, { event: 'void' });
    await expect(move(payment.id, { event: 'capture', idempotencyKey: 'late-capture' })).rejects.toMatchObject({ code: 'payment_invalid_state' });

    expect(await findPayment(pool, tenantId, payment.id)).toMatchObject({ status: 'reversed', version: 3, amountCapturedMinor: 0 });
    expect(await eventTypes(payment.id)).toEqual([...before, 'payment.authorized', 'payment.reversed']);
    // A key reused for another event is a caller's bug, not a replay.
    await expect(move(payment.id, { event: 'expire', idempotencyKey: `${payment.id}:authorize` })).rejects.toBeInstanceOf(PaymentInvariantError);
  });

  it('10 concurrent captures with different keys: one wins, the rest are payment_invalid_state', async () => {
    const payment = await newPayment(100);
    await move(payment.id, { event: 'authorize' });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => move(payment.id, { event: 'capture', idempotencyKey: `cap-${i}` })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.every((r) => r.reason instanceof PaymentError && r.reason.code === 'payment_invalid_state')).toBe(true);
    expect(await eventTypes(payment.id)).toEqual(['payment.initiated', 'payment.authorized', 'payment.captured']);
  });

  it('lists newest first, by status, with pages', async () => {
    const tenant = (await createTenant(pool, 'list tests')).id;
    const merchant = (await insertAccount(pool, { tenantId: tenant, type: 'merchant', currency: 'USD' })).id;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await insertPayment(pool, {
        tenantId: tenant, merchantAccountId: merchant, amountMinor: 10, currency: 'USD', captureMethod: 'automatic',
        paymentMethod: { type: 'bank_transfer', token: 'btok_success' },
      })).id);
    }
    await withTransaction(pool, (c) => applyTransition(c, { tenantId: tenant, paymentId: ids[1]!, event: 'decline', idempotencyKey: 'd', patch: { failureCode: 'bank_declined' } }));
    const first = await listPayments(pool, tenant, { limit: 2 });
    expect(first.data.map((p) => p.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    expect((await listPayments(pool, tenant, { limit: 2, startingAfter: ids[1] })).data.map((p) => p.id)).toEqual([ids[0]]);
    const failed = await listPayments(pool, tenant, { limit: 10, status: 'failed' });
    expect(failed.data.map((p) => [p.id, p.failureCode])).toEqual([[ids[1], 'bank_declined']]);
  });

  it('payment_events is append-only', async () => {
    const payment = await newPayment();
    await expect(pool.query(`UPDATE payment_events SET data = '{}' WHERE payment_id = $1`, [payment.id])).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM payment_events WHERE payment_id = $1', [payment.id])).rejects.toThrow(/append-only/);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await expect(client.query('TRUNCATE payment_events')).rejects.toThrow(/append-only/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(await eventTypes(payment.id)).toEqual(['payment.initiated']);
  });
});

describe('refunds', () => {
  const reserve = (paymentId: string, key: string, amountMinor?: number) =>
    withTransaction(pool, (c) => reserveRefund(c, { tenantId, paymentId, idempotencyKey: key, ...(amountMinor ? { amountMinor } : {}) }));
  const complete = (refundId: string) => withTransaction(pool, (c) => completeRefund(c, { tenantId, refundId }));

  it('20 concurrent refunds of 10 against a captured 100: exactly 10 are reserved, and they add up to refunded', async () => {
    const payment = await capturedPayment(100);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => reserve(payment.id, `r-${i}`, 10)));
    const reserved = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.refund] : []));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(reserved).toHaveLength(10);
    expect(refused.map((r) => (r.reason as PaymentError).code)).toEqual(Array(10).fill('amount_too_large'));

    const completed = await Promise.all(reserved.map((r) => complete(r.id)));
    expect(completed.every((c) => c.refund.status === 'succeeded')).toBe(true);
    const after = (await findPayment(pool, tenantId, payment.id))!;
    expect(after).toMatchObject({ status: 'refunded', amountRefundedMinor: 100, amountCapturedMinor: 100 });
    const types = await eventTypes(payment.id);
    expect(types.filter((t) => t === 'payment.partially_refunded')).toHaveLength(9);
    expect(types.at(-1)).toBe('payment.refunded');
    await expect(reserve(payment.id, 'one-more', 1)).rejects.toMatchObject({ code: 'amount_too_large' });
    expect((await complete(reserved[0]!.id)).replayed).toBe(true);
  });

  it('a replayed key returns the same refund; a failed refund frees its amount; no amount means all that is left', async () => {
    const payment = await capturedPayment(100);
    const first = await reserve(payment.id, 'k1', 70);
    expect((await reserve(payment.id, 'k1', 70)).refund.id).toBe(first.refund.id);
    await expect(reserve(payment.id, 'k2', 31)).rejects.toMatchObject({ code: 'amount_too_large' });
    await withTransaction(pool, (c) => failRefund(c, { tenantId, refundId: first.refund.id, failureCode: 'processor_error' }));
    const rest = await reserve(payment.id, 'k3');
    expect(rest.refund.amountMinor).toBe(100);
    await expect(complete(first.refund.id)).rejects.toBeInstanceOf(PaymentInvariantError);
  });

  it('refunds need a capture; a reversal waits for pending refunds', async () => {
    const payment = await newPayment(100);
    await move(payment.id, { event: 'authorize' });
    await expect(reserve(payment.id, 'too-early', 10)).rejects.toMatchObject({ code: 'payment_invalid_state' });
    const captured = await capturedPayment(100);
    const pending = await reserve(captured.id, 'pending', 10);
    await expect(move(captured.id, { event: 'reverse' })).rejects.toMatchObject({ code: 'payment_invalid_state' });
    await complete(pending.refund.id);
    expect((await move(captured.id, { event: 'reverse' })).payment).toMatchObject({ status: 'reversed', amountRefundedMinor: 10 });
  });
});

describe('settlement', () => {
  /** Backdated into a window of the distant past, so other tests' payments are never due in it. */
  const backdate = (ids: string[], at: Date) => pool.query('UPDATE payments SET created_at = $2 WHERE id = ANY($1)', [ids, at]);
  const claim = (windowStart: Date, windowEnd: Date, limit: number) =>
    withTransaction(pool, (c) => claimSettlementBatch(c, { windowStart, windowEnd, limit }));

  it('settles each due payment exactly once however often the window runs, with matching totals', async () => {
    const [windowStart, windowEnd] = [new Date('1990-01-01T00:00:00Z'), new Date('1990-01-02T00:00:00Z')];
    const due = [await capturedPayment(100), await capturedPayment(250), await capturedPayment(70, 'EUR')];
    const notCaptured = await newPayment(500);
    await move(notCaptured.id, { event: 'authorize' });
    const later = await capturedPayment(40); // created now: after the window
    await backdate([...due, notCaptured].map((p) => p.id), new Date('1990-01-01T12:00:00Z'));
    const refund = await withTransaction(pool, (c) =>
      reserveRefund(c, { tenantId, paymentId: due[1]!.id, amountMinor: 50, idempotencyKey: 'before-settlement' }));
    await withTransaction(pool, (c) => completeRefund(c, { tenantId, refundId: refund.refund.id }));

    const first = await claim(windowStart, windowEnd, 2);
    const second = await claim(windowStart, windowEnd, 10);
    const third = await claim(windowStart, windowEnd, 10);
    expect(second.batchId).toBe(first.batchId);
    expect(third.settledPaymentIds).toEqual([]);
    expect([...first.settledPaymentIds, ...second.settledPaymentIds].sort()).toEqual(due.map((p) => p.id).sort());
    expect(third.totals).toEqual({
      USD: { payment_count: 2, amount_captured: 350, amount_refunded: 50 },
      EUR: { payment_count: 1, amount_captured: 70, amount_refunded: 0 },
    });

    for (const p of due) {
      expect(await findPayment(pool, tenantId, p.id)).toMatchObject({ status: 'settled', settledBatchId: first.batchId });
      expect((await eventTypes(p.id)).filter((t) => t === 'payment.settled')).toHaveLength(1);
    }
    expect((await findPayment(pool, tenantId, notCaptured.id))!.status).toBe('authorized');
    expect((await findPayment(pool, tenantId, later.id))!.status).toBe('captured');
    // Settled: no more reversal, but refunds still work.
    await expect(move(due[0]!.id, { event: 'reverse' })).rejects.toMatchObject({ code: 'payment_invalid_state' });
    await expect(withTransaction(pool, (c) => reserveRefund(c, { tenantId, paymentId: due[0]!.id, idempotencyKey: 'after', amountMinor: 1 })))
      .resolves.toMatchObject({ replayed: false });
  });

  it('concurrent runs of one window settle each payment once', async () => {
    const [windowStart, windowEnd] = [new Date('1991-01-01T00:00:00Z'), new Date('1991-01-02T00:00:00Z')];
    const due = await Promise.all(Array.from({ length: 12 }, () => capturedPayment(10)));
    await backdate(due.map((p) => p.id), new Date('1991-01-01T06:00:00Z'));
    const runs = await Promise.all(Array.from({ length: 4 }, () => claim(windowStart, windowEnd, 5)));
    const settled = runs.flatMap((r) => r.settledPaymentIds);
    const rest = await claim(windowStart, windowEnd, 100);
    expect([...settled, ...rest.settledPaymentIds].sort()).toEqual(due.map((p) => p.id).sort());
    expect(new Set(runs.map((r) => r.batchId)).size).toBe(1);
    expect(rest.totals).toEqual({ USD: { payment_count: 12, amount_captured: 120, amount_refunded: 0 } });
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM settlement_batches WHERE window_start = $1', [windowStart]);
    expect(rows[0].n).toBe(1);
  });
});
