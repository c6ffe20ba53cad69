import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorHeaders, createAccount, startHarness, tenantRowCounts, type Call, type Harness } from '../test/harness.js';

/**
 * Card data never enters the system (issue #12 item 4): every token field takes processor tokens
 * only, and every free-text field refuses a card number with `400 parameter_invalid` naming the
 * field, before anything is written (no row, no workflow, no idempotency record).
 */

const PAN = '4242 4242 4242 4242';
let h: Harness;
let tenant: { id: string; apiKey: string; call: Call };
let from: string;
let to: string;

beforeAll(async () => {
  h = await startHarness();
  tenant = await h.newTenant('Card data');
  from = await createAccount(tenant.call, { fundMinor: 10_000 });
  to = await createAccount(tenant.call, { type: 'merchant' });
});
afterAll(async () => {
  await h?.close();
});

/** Every table a refused request could have written to, for the tenant. */
async function rows() {
  const { rows: [extra] } = await h.pool.query(
    `SELECT (SELECT count(*) FROM payments WHERE tenant_id = $1)::int AS payments,
            (SELECT count(*) FROM employees WHERE tenant_id = $1)::int AS employees,
            (SELECT count(*) FROM leave_requests WHERE tenant_id = $1)::int AS leave_requests,
            (SELECT count(*) FROM notifications WHERE tenant_id = $1)::int AS notifications`,
    [tenant.id],
  );
  return { ...(await tenantRowCounts(h.pool, tenant.id)), ...extra };
}

/** Sends the request (with an Idempotency-Key, which must be released too) and expects the refusal, nothing written. */
async function expectRefused(path: string, body: unknown, param: string, headers: Record<string, string> = {}) {
  const before = await rows();
  const res = await tenant.call('POST', path, { body, headers, idempotencyKey: randomUUID() });
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param });
  expect(JSON.stringify(res.body)).not.toMatch(/4242|5555/); // the answer does not echo the number
  expect(await rows()).toEqual(before);
}

describe('card numbers in free text', () => {
  it('a transfer description: refused; an ordinary one passes', async () => {
    const transfer = { from_account_id: from, to_account_id: to, amount: 100, currency: 'USD' };
    await expectRefused('/v1/transfers', { ...transfer, description: `rent, card ${PAN}` }, 'description');
    await expectRefused('/v1/transfers', { ...transfer, description: 'card 4242-4242-4242-4242 exp 12/28' }, 'description');
    const ok = await tenant.call('POST', '/v1/transfers', { body: { ...transfer, description: 'order 6735, 2026-12-24' } });
    expect(ok.status).toBe(201);
  });

  it('payment metadata values and keys, description and token: refused', async () => {
    const payment = { amount: 500, currency: 'USD', merchant_account_id: to, payment_method: { type: 'card', token: 'tok_visa' } };
    await expectRefused('/v1/payments', { ...payment, metadata: { order_id: '6735', note: `paid by ${PAN}` } }, 'metadata[note]');
    await expectRefused('/v1/payments', { ...payment, metadata: { '5555555555554444': 'x' } }, 'metadata');
    await expectRefused('/v1/payments', { ...payment, description: `5555.5555.5555.4444` }, 'description');
    // Spaced, the number used to pass the API and hit the database CHECK: a 500 whose logged detail held it.
    await expectRefused('/v1/payments', { ...payment, payment_method: { type: 'card', token: PAN } }, 'payment_method[token]');
    await expectRefused('/v1/payments', { ...payment, payment_method: { type: 'card', token: 'tok_4242424242424242' } }, 'payment_method[token]');
    await expectRefused('/v1/payments', { ...payment, payment_method: { type: 'bank_transfer', token: 'tok_visa' } }, 'payment_method[token]');
    const ok = await tenant.call('POST', '/v1/payments', { body: { ...payment, metadata: { order_id: '6735' } } });
    expect(ok.status).toBe(201);
  });

  it('a top-up source.token must be a bank token (it was not checked at all)', async () => {
    const topUp = (token: string) => ({ account_id: from, amount: 100, currency: 'USD', source: { type: 'bank_account', token } });
    await expectRefused('/v1/topups', topUp(PAN), 'source[token]');
    await expectRefused('/v1/topups', topUp('4242424242424242'), 'source[token]');
    await expectRefused('/v1/topups', topUp('tok_visa'), 'source[token]');
    await expectRefused('/v1/topups', topUp('whatever'), 'source[token]');
  });

  it('a leave request reason, and a decision comment', async () => {
    const leave = { employee_id: 'emp_unknown', leave_type: 'annual', start_date: '2031-03-03', end_date: '2031-03-04' };
    await expectRefused('/v1/leave-requests', { ...leave, reason: `refund to ${PAN}` }, 'reason');
    await expectRefused('/v1/leave-requests/lr_unknown/reject', { comment: `card ${PAN}` }, 'comment', await actorHeaders(tenant, 'emp_manager'));
  });

  it('notification data values, numbers and nested values', async () => {
    const notification = { user_id: 'user_1', template_id: 'transfer.received', channels: ['in_app'], priority: 'normal' };
    await expectRefused('/v1/notifications', { ...notification, data: { amount: '10.00', card: PAN } }, 'data[card]');
    await expectRefused('/v1/notifications', { ...notification, data: { card: 4242424242424242 } }, 'data[card]');
    await expectRefused('/v1/notifications', { ...notification, data: { nested: { deep: [PAN] } } }, 'data[nested][deep][0]');
  });

  it('employee names and template bodies', async () => {
    const employee = {
      employee_number: 'E1', first_name: 'Ada', last_name: PAN, email: 'ada@example.com', department: 'Ops', hire_date: '2024-01-02',
    };
    await expectRefused('/v1/employees', employee, 'last_name');
    const before = await rows();
    const res = await tenant.call('POST', '/v1/notification-templates', {
      body: { id: 'card.leak', channels: { sms: { body: `Your card ${PAN} is ready` } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'channels[sms][body]' });
    expect(await rows()).toEqual(before);
  });

  it('a NUL character is a 400 too, not a database error (a 500 before)', async () => {
    const transfer = { from_account_id: from, to_account_id: to, amount: 100, currency: 'USD' };
    await expectRefused('/v1/transfers', { ...transfer, description: 'a\u0000b' }, 'description');
    const payment = { amount: 500, currency: 'USD', merchant_account_id: to, payment_method: { type: 'card', token: 'tok_visa' } };
    await expectRefused('/v1/payments', { ...payment, metadata: { 'k\u0000': 'v' } }, 'metadata');
    const notification = { user_id: 'user_1', template_id: 'transfer.received', channels: ['in_app'], priority: 'normal' };
    await expectRefused('/v1/notifications', { ...notification, data: { name: 'x\u0000' } }, 'data');
  });
});
