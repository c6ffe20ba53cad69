import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitWindows } from '../../domain/ledger/limits.js';
import { balanceOf, createAccount, startHarness, tenantRowCounts, type Harness, auditedTenants } from '../../test/harness.js';

/**
 * Account updates and limits (contract §2) through the API and the real workflows:
 * `POST /v1/accounts/:id {kyc_level?, limits?}` (audit-logged), `GET /v1/accounts/:id/limits`,
 * transfers and top-ups refused `limit_exceeded` at each limit's boundary, and concurrent
 * transfers that never spend past the daily and monthly limits together.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '60000' } });
});
afterAll(async () => {
  await h?.close();
});

const newTenant = auditedTenants(() => h);

type Tenant = Awaited<ReturnType<typeof newTenant>>;
const transferOf = (tenant: Tenant, from: string, to: string) => async (amount: number) =>
  (await tenant.call('POST', '/v1/transfers', { body: { from_account_id: from, to_account_id: to, amount, currency: 'USD' } })).body;

describe('POST /v1/accounts/:id', () => {
  it('updates the KYC level and limits (Stripe-style: left out keeps, null lifts), shows them, and records account.update', async () => {
    const tenant = await newTenant();
    const id = await createAccount(tenant.call, { limits: { per_transaction_max: 500 } });
    expect((await tenant.call('GET', `/v1/accounts/${id}`)).body).toMatchObject({
      kyc_level: 'none', limits: { per_transaction_max: 500, daily_debit_max: null, monthly_debit_max: null, balance_max: null },
    });
    const res = await tenant.call('POST', `/v1/accounts/${id}`, { body: { kyc_level: 'full', limits: { monthly_debit_max: 9_000, balance_max: 50_000 } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id, object: 'account', kyc_level: 'full', limits: { per_transaction_max: 500, daily_debit_max: null, monthly_debit_max: 9_000, balance_max: 50_000 },
    });
    const lifted = await tenant.call('POST', `/v1/accounts/${id}`, { body: { limits: { per_transaction_max: null } } });
    expect(lifted.body).toMatchObject({ kyc_level: 'full', limits: { per_transaction_max: null, monthly_debit_max: 9_000 } });
    expect((await tenant.call('GET', `/v1/accounts/${id}`)).body).toEqual(lifted.body);
    const audit = await tenant.call('GET', `/v1/audit-log?action=account.update&resource_id=${id}`);
    expect(audit.body.data.map((e: { status: number }) => e.status)).toEqual([200, 200]);
  });

  it('refuses bad input with the contract’s error and changes nothing; another tenant’s account is 404', async () => {
    const tenant = await newTenant();
    const id = await createAccount(tenant.call, { limits: { daily_debit_max: 1_000 } });
    const before = (await tenant.call('GET', `/v1/accounts/${id}`)).body;
    const rows = await tenantRowCounts(h.pool, tenant.id);
    const cases: [unknown, string, string][] = [
      [{ kyc_level: 'gold' }, 'parameter_invalid', 'kyc_level'],
      [{ limits: { daily_debit_max: -1 } }, 'amount_invalid', 'limits[daily_debit_max]'],
      [{ limits: { monthly_debit_max: 2.5 } }, 'amount_invalid', 'limits[monthly_debit_max]'],
      [{ limits: { weekly_debit_max: 5 } }, 'parameter_unknown', 'limits[weekly_debit_max]'],
      [{ kyc_level: 'basic', type: 'merchant' }, 'parameter_unknown', 'type'],
    ];
    for (const [body, code, param] of cases) {
      const res = await tenant.call('POST', `/v1/accounts/${id}`, { body });
      expect([res.status, res.body.error?.code, res.body.error?.param], JSON.stringify(body)).toEqual([400, code, param]);
    }
    expect((await tenant.call('GET', `/v1/accounts/${id}`)).body).toEqual(before);
    expect(await tenantRowCounts(h.pool, tenant.id)).toEqual(rows);
    const other = await newTenant();
    const missing = await other.call('POST', `/v1/accounts/${id}`, { body: { kyc_level: 'full' } });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'resource_missing']);
    expect((await tenant.call('GET', `/v1/accounts/${id}`)).body.kyc_level).toBe('none');
  });
});

describe('GET /v1/accounts/:id/limits', () => {
  it('shows the limits in force (the lower of account and tier) with used, remaining and resets_at', async () => {
    const tenant = await newTenant();
    await tenant.call('PUT', '/v1/kyc-tiers/basic', {
      body: { currency: 'USD', per_transaction_max: 3_000, daily_debit_max: 4_000, monthly_debit_max: 50_000, balance_max: 100_000 },
    });
    const payer = await createAccount(tenant.call, { fundMinor: 20_000 });
    const payee = await createAccount(tenant.call);
    await tenant.call('POST', `/v1/accounts/${payer}`, { body: { kyc_level: 'basic', limits: { per_transaction_max: 5_000, monthly_debit_max: 6_000 } } });
    const send = transferOf(tenant, payer, payee);
    expect(await send(1_500)).toMatchObject({ status: 'succeeded' });
    expect(await send(3_001)).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' }); // the tier's 3,000 under the account's 5,000
    expect(await send(1_000)).toMatchObject({ status: 'succeeded' });

    const { day, month } = limitWindows(new Date());
    const res = await tenant.call('GET', `/v1/accounts/${payer}/limits`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'account_limits', account_id: payer, currency: 'USD', kyc_level: 'basic',
      per_transaction_max: 3_000,
      daily: { max: 4_000, used: 2_500, remaining: 1_500, resets_at: day.resetsAt.toISOString() },
      monthly: { max: 6_000, used: 2_500, remaining: 3_500, resets_at: month.resetsAt.toISOString() },
      balance_max: 100_000,
    });
    // No limit anywhere: max and remaining null, use still counted; a merchant has no balance cap.
    const free = await tenant.call('GET', `/v1/accounts/${payee}/limits`);
    expect(free.body).toMatchObject({ per_transaction_max: null, daily: { max: null, used: 0, remaining: null }, monthly: { max: null, remaining: null }, balance_max: null });
    const shop = await createAccount(tenant.call, { type: 'merchant', limits: { balance_max: 10 } });
    expect((await tenant.call('GET', `/v1/accounts/${shop}/limits`)).body.balance_max).toBeNull();
    expect((await (await newTenant()).call('GET', `/v1/accounts/${payer}/limits`)).status).toBe(404);
  });

  it('each limit fires one past its boundary and not at it: daily and monthly transfers, balance_max on transfers and top-ups', async () => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 20_000, limits: { daily_debit_max: 3_000 } });
    const payee = await createAccount(tenant.call, { limits: { balance_max: 5_000 } });
    const send = transferOf(tenant, payer, payee);
    expect(await send(2_000)).toMatchObject({ status: 'succeeded' });
    expect(await send(1_001)).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' });
    expect(await send(1_000)).toMatchObject({ status: 'succeeded' });

    await tenant.call('POST', `/v1/accounts/${payer}`, { body: { limits: { daily_debit_max: null, monthly_debit_max: 4_500 } } });
    expect(await send(1_501)).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' });
    expect(await send(1_500)).toMatchObject({ status: 'succeeded' });
    expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 15_500, available: 15_500 }); // every failed hold voided

    const topUp = async (amount: number) => (await tenant.call('POST', '/v1/topups', {
      body: { account_id: payee, amount, currency: 'USD', source: { type: 'bank_account', token: 'btok_success' } },
    })).body;
    expect(await topUp(501)).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' }); // 4,500 + 501 > 5,000
    expect(await topUp(500)).toMatchObject({ status: 'succeeded' });
    expect(await balanceOf(tenant.call, payee)).toEqual({ balance: 5_000, available: 5_000 });
    await tenant.call('POST', `/v1/accounts/${payer}`, { body: { limits: { monthly_debit_max: null } } });
    expect(await send(1)).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' }); // the payee is at its cap
    expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 15_500, available: 15_500 });
  });

  it('20 concurrent transfers never spend past the daily and the monthly limit together', async () => {
    const tenant = await newTenant();
    await tenant.call('PUT', '/v1/kyc-tiers/none', { body: { currency: 'USD', per_transaction_max: null, daily_debit_max: 1_500, monthly_debit_max: 100_000 } });
    const payer = await createAccount(tenant.call, { fundMinor: 100_000, limits: { monthly_debit_max: 1_200 } });
    const payee = await createAccount(tenant.call);
    const race = async (from: string, n: number) => {
      const results = await Promise.all(Array.from({ length: n }, () => transferOf(tenant, from, payee)(100)));
      expect(results.filter((r) => r.status === 'failed').map((r) => r.failure_code)).toEqual(Array(results.filter((r) => r.status === 'failed').length).fill('limit_exceeded'));
      return results.filter((r) => r.status === 'succeeded').length * 100;
    };
    expect(await race(payer, 20)).toBe(1_200); // the account's month (1,200) under the tier's day (1,500)
    await tenant.call('POST', `/v1/accounts/${payer}`, { body: { limits: { monthly_debit_max: null } } });
    expect(await race(payer, 20)).toBe(300); // now the tier's day: 1,500 in all
    const limits = (await tenant.call('GET', `/v1/accounts/${payer}/limits`)).body;
    expect(limits.daily).toMatchObject({ max: 1_500, used: 1_500, remaining: 0 });
    expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 98_500, available: 98_500 });
  });
});
