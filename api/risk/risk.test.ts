import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { processorsControl } from '../../simulators/processors/client.js';
import { eventually } from '../../test/eventually.js';
import { actorHeaders, balanceOf, createAccount, startHarness, type Call, type Harness, auditedTenants } from '../../test/harness.js';
import { RISK_RULE_CODES, type RiskRuleCode } from '../../domain/risk/types.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '20000', RISK_REVIEW_TIMEOUT: '1h' } });
});
afterAll(async () => {
  await h?.close();
});

const newTenant = auditedTenants(() => h);

/** Only `code` on (score 100: it blocks when it fires), with `params`; every other rule off. */
async function onlyRule(call: Call, code: RiskRuleCode, params: Record<string, unknown> = {}, thresholds = { review_threshold: 60, block_threshold: 90 }) {
  const rules = Object.fromEntries(RISK_RULE_CODES.map((c) => [c, c === code ? { enabled: true, score: 100, ...params } : { enabled: false }]));
  const res = await call('PUT', '/v1/risk/settings', { body: { ...thresholds, rules } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

const transfer = (call: Call, from: string, to: string, amount: number) =>
  call('POST', '/v1/transfers', { body: { from_account_id: from, to_account_id: to, amount, currency: 'USD' } });

const sim = () => processorsControl(inject('processorsUrl'));
/** Whether any processor saw an authorization for this payment (its step keys start with its workflow id). */
async function processorSaw(paymentId: string): Promise<boolean> {
  for (const processor of ['acq_primary', 'acq_secondary'] as const) {
    const { authorizations } = await sim().charges(processor);
    if (authorizations.some((a) => a.idempotency_key.startsWith(`payment-${paymentId}:`))) return true;
  }
  return false;
}

describe('risk settings', () => {
  it('answers the defaults; a PUT changes what it names and keeps the rest; a bad one changes nothing', async () => {
    const { call } = await newTenant();
    const before = await call('GET', '/v1/risk/settings');
    expect(before.body).toMatchObject({ object: 'risk_settings', review_threshold: 60, block_threshold: 90 });
    const put = await call('PUT', '/v1/risk/settings', { body: { review_threshold: 50, rules: { velocity_count: { max_count: 3 } } } });
    expect(put.status).toBe(200);
    expect(put.body.review_threshold).toBe(50);
    expect(put.body.block_threshold).toBe(90);
    expect(put.body.rules.velocity_count).toEqual({ ...before.body.rules.velocity_count, max_count: 3 });
    expect(put.body.rules.card_testing).toEqual(before.body.rules.card_testing);

    for (const body of [{ review_threshold: 95 }, { rules: { nope: {} } }, { rules: { velocity_count: { max_count: 0 } } }, { block_threshold: 101 }]) {
      const bad = await call('PUT', '/v1/risk/settings', { body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error.type).toBe('invalid_request_error');
    }
    expect((await call('GET', '/v1/risk/settings')).body).toEqual(put.body);
  });
});

describe('block', () => {
  it('a transfer to a blocklisted account ends failed risk_blocked and moves nothing; unblocked it goes through', async () => {
    const { call } = await newTenant();
    const payer = await createAccount(call, { fundMinor: 10_000 });
    const payee = await createAccount(call);
    const entry = await call('POST', '/v1/risk/blocklist', { body: { type: 'account', value: payee } });
    expect(entry.status).toBe(201);
    expect((await call('POST', '/v1/risk/blocklist', { body: { type: 'account', value: payee } })).status).toBe(409);
    expect((await call('POST', '/v1/risk/blocklist', { body: { type: 'account', value: 'acct_nope' } })).status).toBe(404);

    const blocked = await transfer(call, payer, payee, 1_000);
    expect(blocked.status).toBe(201);
    expect(blocked.body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked', risk: { score: 100, decision: 'block' } });
    expect(blocked.body.risk.rules.map((r: { code: string }) => r.code)).toContain('blocklisted');
    expect(await balanceOf(call, payer)).toEqual({ balance: 10_000, available: 10_000 });
    expect(await balanceOf(call, payee)).toEqual({ balance: 0, available: 0 });
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM holds WHERE account_id = $1', [payer]);
    expect(rows[0].n).toBe(0);

    expect((await call('DELETE', `/v1/risk/blocklist/${entry.body.id}`)).body).toMatchObject({ id: entry.body.id, deleted: true });
    expect((await transfer(call, payer, payee, 1_000)).body).toMatchObject({ status: 'succeeded', risk: { decision: 'allow' } });
  });

  it('a payment with a blocklisted card token ends failed risk_blocked before any processor is called', async () => {
    const { call } = await newTenant();
    const merchant = await createAccount(call, { type: 'merchant' });
    await call('POST', '/v1/risk/blocklist', { body: { type: 'card_token', value: 'tok_mastercard' } });
    const res = await call('POST', '/v1/payments', {
      body: { amount: 1_000, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_mastercard' } },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked', processor: null, risk: { decision: 'block' } });
    expect(await processorSaw(res.body.id)).toBe(false);
    const visa = await call('POST', '/v1/payments', {
      body: { amount: 1_000, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } },
    });
    expect(visa.body).toMatchObject({ status: 'captured', risk: { decision: 'allow' } });
  });
});

describe('each rule fires at its boundary, from live data (alone, scored 100: block)', () => {
  it('velocity_count: more than max_count debits in the window', async () => {
    const { call } = await newTenant();
    await onlyRule(call, 'velocity_count', { max_count: 2, window_seconds: 600 });
    const payer = await createAccount(call, { fundMinor: 10_000 });
    const payee = await createAccount(call);
    expect((await transfer(call, payer, payee, 100)).body.status).toBe('succeeded');
    expect((await transfer(call, payer, payee, 100)).body.status).toBe('succeeded');
    expect((await transfer(call, payer, payee, 100)).body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked' });
  });

  it('velocity_amount: the window sum with this one above max_amount', async () => {
    const { call } = await newTenant();
    await onlyRule(call, 'velocity_amount', { max_amount: 1_000, window_seconds: 600 });
    const payer = await createAccount(call, { fundMinor: 10_000 });
    const payee = await createAccount(call);
    expect((await transfer(call, payer, payee, 600)).body.status).toBe('succeeded');
    expect((await transfer(call, payer, payee, 400)).body.status).toBe('succeeded');
    expect((await transfer(call, payer, payee, 1)).body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked' });
  });

  it('amount_outlier: above multiplier × the payer’s average, once it has history', async () => {
    const { call } = await newTenant();
    await onlyRule(call, 'amount_outlier', { multiplier: 3, min_history: 2, lookback_days: 30 });
    const payer = await createAccount(call, { fundMinor: 10_000 });
    const payee = await createAccount(call);
    expect((await transfer(call, payer, payee, 1_000)).body.status).toBe('succeeded'); // no history yet
    expect((await transfer(call, payer, payee, 100)).body.status).toBe('succeeded'); // one debit: not enough history
    // average of (1,000, 100) = 550: 3× = 1,650
    expect((await transfer(call, payer, payee, 1_650)).body.status).toBe('succeeded');
    expect((await transfer(call, payer, payee, 2_751)).body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked' }); // avg 916: 3× = 2,750
  });

  it('new_counterparty: first money to a payee; not once it was paid', async () => {
    const { call } = await newTenant();
    const payer = await createAccount(call, { fundMinor: 10_000 });
    const payee = await createAccount(call);
    await onlyRule(call, 'new_counterparty', { enabled: false });
    expect((await transfer(call, payer, payee, 100)).body.status).toBe('succeeded');
    await onlyRule(call, 'new_counterparty');
    expect((await transfer(call, payer, payee, 100)).body.status).toBe('succeeded');
    const other = await createAccount(call);
    expect((await transfer(call, payer, other, 100)).body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked' });
  });

  it('new_account: a payer younger than min_age_seconds', async () => {
    const { call } = await newTenant();
    const payer = await createAccount(call, { fundMinor: 10_000 });
    const payee = await createAccount(call);
    await onlyRule(call, 'new_account', { min_age_seconds: 3_600 });
    expect((await transfer(call, payer, payee, 100)).body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked' });
    await onlyRule(call, 'new_account', { min_age_seconds: 1 });
    await sleep(1_100);
    expect((await transfer(call, payer, payee, 100)).body.status).toBe('succeeded');
  });

  it('topup_then_drain: drain_percent of a recent top-up leaves', async () => {
    const { call } = await newTenant();
    await onlyRule(call, 'topup_then_drain', { window_seconds: 900, drain_percent: 50 });
    const payer = await createAccount(call, { fundMinor: 1_000 });
    const payee = await createAccount(call);
    expect((await transfer(call, payer, payee, 499)).body.status).toBe('succeeded');
    expect((await transfer(call, payer, payee, 1)).body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked' }); // 500 of 1,000
  });

  it('card_testing: min_declines small declines with one card token; larger ones do not count', async () => {
    const { call } = await newTenant();
    await onlyRule(call, 'card_testing', { min_declines: 2, small_amount_max: 500, window_seconds: 3_600 });
    const merchant = await createAccount(call, { type: 'merchant' });
    const pay = (amount: number) => call('POST', '/v1/payments', {
      body: { amount, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_card_declined' } },
    });
    expect((await pay(501)).body.failure_code).toBe('card_declined'); // not small
    expect((await pay(500)).body.failure_code).toBe('card_declined'); // 1 small decline
    expect((await pay(500)).body.failure_code).toBe('card_declined'); // fires at 2: not yet
    const third = await pay(10);
    expect(third.body).toMatchObject({ status: 'failed', failure_code: 'risk_blocked' });
    expect(await processorSaw(third.body.id)).toBe(false);
  });
});

/** Settings under which a first payment to a new payee goes to review (score 70), nothing else fires. */
async function reviewFirstPayments(call: Call) {
  await onlyRule(call, 'new_counterparty', { score: 70 });
}

describe('review', () => {
  it('a transfer in review holds its funds; approved by an actor it succeeds; the decision is final and audited', async () => {
    const tenant = await newTenant();
    const { call } = tenant;
    await reviewFirstPayments(call);
    const payer = await createAccount(call, { fundMinor: 10_000 });
    const payee = await createAccount(call);
    const started = Date.now();
    const res = await transfer(call, payer, payee, 4_000);
    expect(Date.now() - started).toBeLessThan(5_000); // answered once in review, not at the end of the wait window
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'in_review', risk: { score: 70, decision: 'review' } });
    expect(await balanceOf(call, payer)).toEqual({ balance: 10_000, available: 6_000 });

    const open = await call('GET', '/v1/risk/reviews?status=open');
    expect(open.body.data).toHaveLength(1);
    const review = open.body.data[0];
    expect(review).toMatchObject({ object: 'risk_review', status: 'open', object_type: 'transfer', object_id: res.body.id, amount: 4_000, score: 70 });
    await eventually(
      async () => (await h.temporal.workflow.count(`WorkflowId = 'transfer-${res.body.id}' AND BusinessStatus = 'in_review'`)).count,
      (n) => n === 1,
    );

    expect((await call('POST', `/v1/risk/reviews/${review.id}/approve`, { body: {} })).body.error.code).toBe('actor_missing');
    const headers = await actorHeaders(tenant, 'user_risk_analyst');
    const approved = await call('POST', `/v1/risk/reviews/${review.id}/approve`, { body: { note: 'known customer' }, headers });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', decided_by: 'user_risk_analyst', note: 'known customer' });
    const done = await eventually(async () => (await call('GET', `/v1/transfers/${res.body.id}`)).body, (t) => t.status !== 'in_review');
    expect(done.status).toBe('succeeded');
    expect(await balanceOf(call, payer)).toEqual({ balance: 6_000, available: 6_000 });
    expect(await balanceOf(call, payee)).toEqual({ balance: 4_000, available: 4_000 });

    const again = await call('POST', `/v1/risk/reviews/${review.id}/decline`, { body: {}, headers });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('review_invalid_state');
    const audit = await call('GET', `/v1/audit-log?resource_id=${review.id}`);
    expect(audit.body.data.map((e: { action: string; actor: unknown; status: number }) => [e.action, e.actor, e.status])).toEqual([
      ['risk_review.decline', { type: 'user', id: 'user_risk_analyst' }, 409],
      ['risk_review.approve', { type: 'user', id: 'user_risk_analyst' }, 200],
      ['risk_review.approve', { type: 'api_key', id: expect.any(String) }, 401],
    ]);
  });

  it('declined (by the admin key): the hold is voided, the transfer ends failed risk_declined', async () => {
    const tenant = await newTenant();
    const { call } = tenant;
    await reviewFirstPayments(call);
    const payer = await createAccount(call, { fundMinor: 10_000 });
    const payee = await createAccount(call);
    const res = await transfer(call, payer, payee, 4_000);
    const review = (await call('GET', '/v1/risk/reviews?status=open')).body.data[0];
    const declined = await h.admin('POST', `/v1/risk/reviews/${review.id}/decline`, { body: { note: 'mule' } });
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ status: 'declined', decided_by: 'admin' });
    const done = await eventually(async () => (await call('GET', `/v1/transfers/${res.body.id}`)).body, (t) => t.status !== 'in_review');
    expect(done).toMatchObject({ status: 'failed', failure_code: 'risk_declined' });
    expect(await balanceOf(call, payer)).toEqual({ balance: 10_000, available: 10_000 });
    expect(await balanceOf(call, payee)).toEqual({ balance: 0, available: 0 });
    const audit = await call('GET', `/v1/audit-log?resource_id=${review.id}`);
    expect(audit.body.data.map((e: { action: string; actor: unknown }) => [e.action, e.actor])).toEqual([['risk_review.decline', { type: 'admin', id: 'admin' }]]);
    // Another tenant does not see it.
    const other = await newTenant();
    expect((await other.call('GET', `/v1/risk/reviews/${review.id}`)).status).toBe(404);
  });

  it('a payment in review stays initiated (no processor call) until approved, then authorizes and captures', async () => {
    const tenant = await newTenant();
    const { call } = tenant;
    await reviewFirstPayments(call);
    const merchant = await createAccount(call, { type: 'merchant' });
    const res = await call('POST', '/v1/payments', {
      body: { amount: 2_500, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'initiated', processor: null, risk: { decision: 'review' } });
    expect(await processorSaw(res.body.id)).toBe(false);
    const review = (await call('GET', '/v1/risk/reviews?status=open')).body.data[0];
    expect(review).toMatchObject({ object_type: 'payment', object_id: res.body.id });
    await call('POST', `/v1/risk/reviews/${review.id}/approve`, { body: {}, headers: await actorHeaders(tenant, 'user_analyst') });
    const done = await eventually(async () => (await call('GET', `/v1/payments/${res.body.id}`)).body, (p) => p.status === 'captured');
    expect(done.amount_captured).toBe(2_500);
    expect(await balanceOf(call, merchant)).toEqual({ balance: 2_500, available: 2_500 });
    expect(await processorSaw(res.body.id)).toBe(true);
  });

  it('a payment declined in review ends failed risk_declined with no processor call', async () => {
    const tenant = await newTenant();
    const { call } = tenant;
    await reviewFirstPayments(call);
    const merchant = await createAccount(call, { type: 'merchant' });
    const res = await call('POST', '/v1/payments', {
      body: { amount: 2_500, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } },
    });
    const review = (await call('GET', '/v1/risk/reviews?status=open')).body.data[0];
    await call('POST', `/v1/risk/reviews/${review.id}/decline`, { body: {}, headers: await actorHeaders(tenant, 'user_analyst') });
    const done = await eventually(async () => (await call('GET', `/v1/payments/${res.body.id}`)).body, (p) => p.status === 'failed');
    expect(done.failure_code).toBe('risk_declined');
    expect(await processorSaw(res.body.id)).toBe(false);
  });
});
