import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dataConverterOf } from '../../platform/payload-codec.js';
import { processorsControl } from '../../simulators/processors/client.js';
import { ADMIN_KEY, balanceOf, createAccount, startHarness, type Call, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';
import { findAccountTenantId } from '../../store/ledger/accounts.js';
import { auditLedger } from '../../store/ledger/audit.js';
import { captureLogs } from '../../platform/log.js';
import { eventually } from '../../test/eventually.js';

let h: Harness;
let call: Call;
let merchant: string;
let apiKey: string;
const sim = () => processorsControl(inject('processorsUrl'));

beforeAll(async () => {
  // AUTHORIZATION_TTL keeps its default (7 days) here, so no manual authorization of another test can
  // expire on a slow machine; the expiry test starts its payment through an API with a short TTL.
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '20000' } });
  const tenant = await h.newTenant();
  call = tenant.call;
  apiKey = tenant.apiKey;
  merchant = await createAccount(call, { type: 'merchant' });
});
afterAll(async () => {
  // This file's tenant only: other files write to the same ledger meanwhile (the whole run is audited last).
  const tenantId = await findAccountTenantId(h.pool, merchant);
  expect(tenantId).not.toBeNull();
  expect((await auditLedger(h.pool, { tenantId: tenantId! })).problems).toEqual([]);
  await h?.close();
});

const pay = (token: string, over: Record<string, unknown> = {}) =>
  call('POST', '/v1/payments', {
    body: { amount: 1_000, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token }, ...over },
  });
const eventsOf = async (id: string) => (await call('GET', `/v1/payments/${id}/events`)).body.data.map((e: { type: string }) => e.type);
async function chargesFor(processor: 'acq_primary' | 'acq_secondary', paymentId: string) {
  return (await sim().charges(processor)).authorizations.filter((a) => a.idempotency_key === `payment-${paymentId}:authorize`);
}

describe('payments: card tokens', () => {
  it('tok_visa: authorized and captured at once; the merchant is credited; events in order', async () => {
    const before = (await balanceOf(call, merchant)).balance;
    const res = await pay('tok_visa');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'payment', status: 'captured', amount: 1_000, amount_captured: 1_000, amount_capturable: 0, amount_refunded: 0,
      processor: 'acq_primary', capture_method: 'automatic', payment_method: { type: 'card', brand: 'visa', last4: '4242' },
      failure_code: null,
    });
    expect(res.body.id).toMatch(/^pay_/);
    expect(JSON.stringify(res.body)).not.toContain('tok_visa');
    expect((await balanceOf(call, merchant)).balance - before).toBe(1_000);
    expect(await eventsOf(res.body.id)).toEqual(['payment.initiated', 'payment.authorized', 'payment.captured']);
  });

  it.each([
    ['tok_card_declined', 'card_declined', null],
    ['tok_insufficient_funds', 'card_declined', 'insufficient_funds'],
    ['tok_expired_card', 'expired_card', null],
  ])('%s fails with %s', async (token, failureCode, declineCode) => {
    const before = (await balanceOf(call, merchant)).balance;
    const res = await pay(token);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'failed', failure_code: failureCode, decline_code: declineCode, amount_captured: 0 });
    expect((await balanceOf(call, merchant)).balance).toBe(before);
  });

  it('tok_processor_error: the primary answers 5xx, the secondary approves', async () => {
    const logs = captureLogs();
    try {
      const res = await pay('tok_processor_error');
      expect(res.body).toMatchObject({ status: 'captured', processor: 'acq_secondary' });
      expect(await chargesFor('acq_primary', res.body.id)).toEqual([]);
      expect(await chargesFor('acq_secondary', res.body.id)).toHaveLength(1);
      // Said through the activity context logger: the line names the run and the activity (the SDK
      // hands its lines over after up to 100 ms).
      const fallback = await eventually(
        () => logs.lines().filter((line) => line.msg === 'authorized by a fallback processor' && line.paymentId === res.body.id),
        (lines) => lines.length > 0,
      );
      expect(fallback).toEqual([expect.objectContaining({
        level: 'warn', service: 'test', component: 'temporal', sdkComponent: 'activity', processor: 'acq_secondary',
        workflowId: `payment-${res.body.id}`, runId: expect.any(String), activityType: 'authorizePayment', tenantId: expect.stringMatching(/^tnt_/),
      })]);
    } finally {
      logs.stop();
    }
  });

  it('tok_lost_response: the retry returns the same charge, never a second one', async () => {
    const res = await pay('tok_lost_response');
    expect(res.body).toMatchObject({ status: 'captured', amount_captured: 1_000 });
    const charges = [...(await chargesFor('acq_primary', res.body.id)), ...(await chargesFor('acq_secondary', res.body.id))];
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ amount_captured: 1_000 });
  });

  it('tok_capture_fails: the saga voids the authorization; reversed, capture_failed, merchant not credited', async () => {
    const before = (await balanceOf(call, merchant)).balance;
    const res = await pay('tok_capture_fails');
    expect(res.body).toMatchObject({ status: 'reversed', failure_code: 'capture_failed', amount_captured: 0 });
    const [charge] = await chargesFor('acq_primary', res.body.id);
    expect(charge).toMatchObject({ voided: true, amount_captured: 0 });
    expect((await balanceOf(call, merchant)).balance).toBe(before);
    expect(await eventsOf(res.body.id)).toEqual(['payment.initiated', 'payment.authorized', 'payment.reversed']);
  });

  it('refuses a raw card number', async () => {
    const res = await call('POST', '/v1/payments', {
      body: { amount: 100, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', number: '4242424242424242', cvc: '123' } },
    });
    expect(res.status).toBe(400);
    const asToken = await pay('4242424242424242');
    expect(asToken.status).toBe(400);
    expect(asToken.body.error).toMatchObject({ code: 'parameter_invalid', param: 'payment_method[token]' });
  });
});

describe('payments: manual capture, refunds, cancel', () => {
  it('partial capture releases the rest; concurrent captures: one wins', async () => {
    const res = await pay('tok_mastercard', { capture_method: 'manual' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'authorized', amount_capturable: 1_000 });
    const captures = await Promise.all([600, 700].map((amount) => call('POST', `/v1/payments/${res.body.id}/capture`, { body: { amount } })));
    expect(captures.map((c) => c.status).sort()).toEqual([200, 409]);
    const won = captures.find((c) => c.status === 200)!;
    expect(won.body).toMatchObject({ status: 'captured', amount_capturable: 0 });
    expect([600, 700]).toContain(won.body.amount_captured);
    expect(captures.find((c) => c.status === 409)!.body.error.code).toBe('payment_invalid_state');
  });

  it('partial refunds never exceed the captured amount, even concurrently; full refund → refunded', async () => {
    const res = await pay('tok_visa', { amount: 1_000 });
    const refunds = await Promise.all([300, 300, 300, 300].map((amount) => call('POST', `/v1/payments/${res.body.id}/refunds`, { body: { amount } })));
    const ok = refunds.filter((r) => r.status === 201);
    expect(ok).toHaveLength(3);
    expect(ok.every((r) => r.body.object === 'refund' && r.body.status === 'succeeded' && r.body.id.startsWith('re_'))).toBe(true);
    expect(refunds.filter((r) => r.status === 400).map((r) => r.body.error.code)).toEqual(['amount_too_large']);
    const rest = await call('POST', `/v1/payments/${res.body.id}/refunds`, { body: {} });
    expect(rest.body).toMatchObject({ amount: 100, status: 'succeeded' });
    const payment = (await call('GET', `/v1/payments/${res.body.id}`)).body;
    expect(payment).toMatchObject({ status: 'refunded', amount_refunded: 1_000 });
    expect((await call('POST', `/v1/payments/${res.body.id}/refunds`, { body: { amount: 1 } })).status).toBe(409);
    expect((await call('POST', `/v1/payments/${res.body.id}/cancel`)).body.error.code).toBe('payment_invalid_state');
  });

  it('cancel from every state answers as the contract says', async () => {
    const authorized = (await pay('tok_visa', { capture_method: 'manual' })).body.id;
    expect((await call('POST', `/v1/payments/${authorized}/cancel`)).body).toMatchObject({ status: 'reversed' });
    const before = (await balanceOf(call, merchant)).balance;
    const captured = (await pay('tok_visa')).body.id;
    const reversed = await call('POST', `/v1/payments/${captured}/cancel`, { body: { reason: 'requested_by_customer' } });
    expect(reversed.body).toMatchObject({ status: 'reversed', amount_captured: 1_000 });
    expect((await balanceOf(call, merchant)).balance).toBe(before);
    const failed = (await pay('tok_card_declined')).body.id;
    for (const id of [failed, authorized, captured]) {
      const res = await call('POST', `/v1/payments/${id}/cancel`);
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('payment_invalid_state');
    }
  });

  it('a manual authorization expires after AUTHORIZATION_TTL: voided at the processor, reversed', async () => {
    // An API of this test's own (same tenant, same worker) that starts payments with a 2 s TTL.
    const shortTtl = createApp({ config: { ...h.config, AUTHORIZATION_TTL: 2_000, RATE_LIMIT_ENABLED: false }, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal });
    const created = await shortTtl.request('/v1/payments', {
      method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1_000, currency: 'USD', merchant_account_id: merchant, capture_method: 'manual', payment_method: { type: 'card', token: 'tok_visa' } }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await expect.poll(async () => (await call('GET', `/v1/payments/${id}`)).body.status, { timeout: 20_000 }).toBe('reversed');
    expect((await call('GET', `/v1/payments/${id}`)).body.failure_code).toBe('authorization_expired');
    expect((await chargesFor('acq_primary', id))[0]).toMatchObject({ voided: true });
  });
});

describe('payments: reading', () => {
  it('lists payments by status, newest first, with pagination; another tenant sees none of them', async () => {
    // Its own tenant and payments: the listing does not depend on what earlier tests left.
    const own = await h.newTenant();
    const ownMerchant = await createAccount(own.call, { type: 'merchant' });
    const created: string[] = [];
    for (const token of ['tok_card_declined', 'tok_visa', 'tok_card_declined', 'tok_card_declined']) {
      const res = await own.call('POST', '/v1/payments', {
        body: { amount: 1_000, currency: 'USD', merchant_account_id: ownMerchant, payment_method: { type: 'card', token } },
      });
      expect(res.status).toBe(201);
      if (token === 'tok_card_declined') created.push(res.body.id as string);
    }
    const failed = await own.call('GET', '/v1/payments?status=failed&limit=100');
    expect(failed.status).toBe(200);
    expect(failed.body.data.every((p: { status: string }) => p.status === 'failed')).toBe(true);
    const ids = failed.body.data.map((p: { id: string }) => p.id);
    expect(ids).toEqual([...created].reverse());
    const page = await own.call('GET', `/v1/payments?status=failed&limit=1&starting_after=${ids[0]}`);
    expect(page.body).toMatchObject({ has_more: true, data: [{ id: ids[1] }] });
    expect((await own.call('GET', '/v1/payments?status=lost')).body.error).toMatchObject({ code: 'parameter_invalid', param: 'status' });
    const other = await h.newTenant();
    expect((await other.call('GET', '/v1/payments')).body.data).toEqual([]);
    expect((await other.call('GET', `/v1/payments/${ids[0]}`)).status).toBe(404);
    expect((await other.call('POST', `/v1/payments/${ids[0]}/cancel`)).status).toBe(404);
  });
});

describe('payments: wallet and bank transfer', () => {
  it('a wallet payment holds at authorization and posts at capture; no funds → failed', async () => {
    const wallet = await createAccount(call, { fundMinor: 1_500 });
    const auth = await call('POST', '/v1/payments', {
      body: { amount: 1_000, currency: 'USD', merchant_account_id: merchant, capture_method: 'manual', payment_method: { type: 'wallet', account_id: wallet } },
    });
    expect(auth.body).toMatchObject({ status: 'authorized', payment_method: { type: 'wallet' } });
    expect(await balanceOf(call, wallet)).toEqual({ balance: 1_500, available: 500 });
    const captured = await call('POST', `/v1/payments/${auth.body.id}/capture`, { body: { amount: 400 } });
    expect(captured.body).toMatchObject({ status: 'captured', amount_captured: 400 });
    expect(await balanceOf(call, wallet)).toEqual({ balance: 1_100, available: 1_100 });
    const broke = await call('POST', '/v1/payments', {
      body: { amount: 5_000, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'wallet', account_id: wallet } },
    });
    expect(broke.body).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });

    // A refund pays the wallet back; a cancelled authorization releases its hold.
    expect((await call('POST', `/v1/payments/${auth.body.id}/refunds`, { body: { amount: 150 } })).body).toMatchObject({ status: 'succeeded' });
    expect(await balanceOf(call, wallet)).toEqual({ balance: 1_250, available: 1_250 });
    const held = await call('POST', '/v1/payments', {
      body: { amount: 1_000, currency: 'USD', merchant_account_id: merchant, capture_method: 'manual', payment_method: { type: 'wallet', account_id: wallet } },
    });
    expect(held.body).toMatchObject({ status: 'authorized', processor: 'wallet_ledger' });
    expect(await balanceOf(call, wallet)).toEqual({ balance: 1_250, available: 250 });
    expect((await call('POST', `/v1/payments/${held.body.id}/cancel`)).body).toMatchObject({ status: 'reversed' });
    expect(await balanceOf(call, wallet)).toEqual({ balance: 1_250, available: 1_250 });
  });

  it('bank transfers: btok_success captures, btok_insufficient_funds fails', async () => {
    const bank = (token: string) => call('POST', '/v1/payments', {
      body: { amount: 700, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'bank_transfer', token } },
    });
    expect((await bank('btok_success')).body).toMatchObject({ status: 'captured', processor: 'bank_sim' });
    expect((await bank('btok_insufficient_funds')).body).toMatchObject({ status: 'failed', failure_code: 'bank_declined' });
  });
});

const EventType = proto.api.enums.v1.EventType;

/** The saga's history in short: event type names (without EVENT_TYPE_), local steps, BusinessStatus upserts. */
async function sagaHistory(paymentId: string) {
  const events = (await h.temporal.workflow.getHandle(`payment-${paymentId}`).fetchHistory()).events ?? [];
  const type = (e: (typeof events)[number]) => EventType[e.eventType!]!.replace(/^EVENT_TYPE_/, '');
  return {
    types: events.map(type),
    localSteps: events.flatMap((e) => {
      const data = e.markerRecordedEventAttributes?.markerName === 'core_local_activity' ? e.markerRecordedEventAttributes.details?.data?.payloads?.[0] : undefined;
      return data ? [defaultPayloadConverter.fromPayload<{ activity_type: string }>(data).activity_type] : [];
    }),
    businessStatuses: events.flatMap((e) => {
      const status = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.BusinessStatus;
      return status ? [defaultPayloadConverter.fromPayload<string>(status)] : [];
    }),
  };
}

/** What a 5xx does to an Idempotency-Key: released, so a retry runs the handler again (and adopts the payment). */
async function releaseKey(tenantId: string, key: string): Promise<void> {
  await h.pool.query('DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2', [tenantId, key]);
  await h.redis.del(`idem:${tenantId}:${key}`);
}

describe('payments: the saga answers the API (issue #14)', () => {
  it('an automatic card payment: local steps, one workflow task, one BusinessStatus upsert, the Update answers', async () => {
    const res = await pay('tok_visa');
    expect([res.status, res.body.status]).toEqual([201, 'captured']);
    const history = await sagaHistory(res.body.id);
    // Scored (release 0.3.0), authorized and captured, each a local step.
    expect(history.localSteps).toEqual(['assessPaymentRisk', 'authorizePayment', 'capturePayment']);
    expect(history.types.filter((t) => t.startsWith('ACTIVITY_TASK'))).toEqual([]);
    // Authorized, captured and answered in the run's first workflow task.
    const answered = history.types.indexOf('WORKFLOW_EXECUTION_UPDATE_COMPLETED');
    expect(answered).toBeGreaterThan(0);
    expect(history.types.slice(0, answered).filter((t) => t === 'WORKFLOW_TASK_COMPLETED')).toHaveLength(1);
    // `authorized` was superseded in the same task: ops see `captured` only.
    expect(history.businessStatuses).toEqual(['captured']);
  });

  it('a manual capture shows `authorized`, then `captured`', async () => {
    const res = await pay('tok_visa', { capture_method: 'manual' });
    expect([res.status, res.body.status]).toEqual([201, 'authorized']);
    expect((await call('POST', `/v1/payments/${res.body.id}/capture`, { body: {} })).body.status).toBe('captured');
    expect((await sagaHistory(res.body.id)).businessStatuses).toEqual(['authorized', 'captured']);
  });

  it('retries of one Idempotency-Key, on a running and on a closed run: the same payment, one Update, nothing new in the history', async () => {
    const tenant = await h.newTenant();
    const own = await createAccount(tenant.call, { type: 'merchant' });
    for (const token of ['tok_visa', 'tok_card_declined']) { // the declined payment's run has closed
      const key = `retry-${token}`;
      const body = { amount: 500, currency: 'USD', merchant_account_id: own, payment_method: { type: 'card', token } };
      const first = await tenant.call('POST', '/v1/payments', { body, idempotencyKey: key });
      expect(first.status).toBe(201);
      const before = await sagaHistory(first.body.id);
      await releaseKey(tenant.id, key);
      const again = await tenant.call('POST', '/v1/payments', { body, idempotencyKey: key });
      expect([again.status, again.headers.get('idempotent-replayed'), again.body]).toEqual([201, null, first.body]);
      expect(await sagaHistory(first.body.id)).toEqual(before);
      expect(before.types.filter((t) => t === 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED')).toHaveLength(1);
    }
  });

  it('a worker that does not know the Update (an older release) refuses it, unrecorded; the API reads the row instead', async () => {
    // The request's Update under a name no handler has: what a worker of release 0.1.0 answers.
    const unknownUpdate: WorkflowClientInterceptor = {
      startUpdateWithStart: (input, next) => next({ ...input, updateName: 'untilAnsweredOfANewerRelease' }),
    };
    const client = new Client({
      connection: h.temporal.connection, namespace: h.config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(h.config),
      interceptors: { workflow: [unknownUpdate] },
    });
    const app = createApp({ config: { ...h.config, RATE_LIMIT_ENABLED: false }, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: client });
    const res = await app.request('/v1/payments', {
      method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1_000, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } }),
    });
    const body = (await res.json()) as { id: string; status: string };
    expect([res.status, body.status]).toEqual([201, 'captured']);
    const history = await sagaHistory(body.id);
    expect(history.types.filter((t) => t.startsWith('WORKFLOW_EXECUTION_UPDATE'))).toEqual([]);
    expect(history.localSteps).toEqual(['assessPaymentRisk', 'authorizePayment', 'capturePayment']);
  });
});
