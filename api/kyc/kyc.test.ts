import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, type Harness } from '../../test/harness.js';

/**
 * `PUT /v1/kyc-tiers/:level` and `GET /v1/kyc-tiers` (contract §2): a tier's limits per currency,
 * audit-logged, applied to the next transfer of every account at that level; bad input answers
 * the contract's error and writes nothing.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '60000' } });
});
afterAll(async () => {
  await h?.close();
});

const basicUsd = { currency: 'USD', per_transaction_max: 5_000, daily_debit_max: 20_000, monthly_debit_max: 100_000 };

describe('KYC tiers', () => {
  it('sets a tier per level and currency, lists them by level then currency, and records kyc_tier.update', async () => {
    const tenant = await h.newTenant();
    const put = await tenant.call('PUT', '/v1/kyc-tiers/basic', { body: basicUsd });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ object: 'kyc_tier', level: 'basic', ...basicUsd, balance_max: null });
    await tenant.call('PUT', '/v1/kyc-tiers/none', { body: { currency: 'EUR', per_transaction_max: null, daily_debit_max: 1_000, monthly_debit_max: null, balance_max: 50_000 } });
    // A second PUT replaces the tier's limits (all of them: balance_max left out is none).
    const again = await tenant.call('PUT', '/v1/kyc-tiers/basic', { body: { ...basicUsd, per_transaction_max: 4_000, balance_max: 9_000 } });
    expect(again.body).toMatchObject({ per_transaction_max: 4_000, balance_max: 9_000 });
    const list = await tenant.call('GET', '/v1/kyc-tiers');
    expect(list.body).toMatchObject({ object: 'list', has_more: false });
    expect(list.body.data.map((t: { level: string; currency: string }) => `${t.level}:${t.currency}`)).toEqual(['none:EUR', 'basic:USD']);
    expect((await tenant.call('GET', '/v1/kyc-tiers?level=basic')).body.data).toHaveLength(1);
    expect((await tenant.call('GET', '/v1/kyc-tiers?currency=EUR')).body.data).toMatchObject([{ level: 'none', balance_max: 50_000 }]);
    // Another tenant sees none of them.
    expect((await (await h.newTenant()).call('GET', '/v1/kyc-tiers')).body.data).toEqual([]);
    const audit = await tenant.call('GET', '/v1/audit-log?action=kyc_tier.update');
    expect(audit.body.data.map((e: { resource_id: string; status: number }) => [e.resource_id, e.status])).toEqual([['basic:USD', 200], ['none:EUR', 200], ['basic:USD', 200]]);
  });

  it('refuses bad input with the contract’s error and writes nothing', async () => {
    const tenant = await h.newTenant();
    const cases: [string, unknown, number, string, string?][] = [
      ['/v1/kyc-tiers/gold', basicUsd, 400, 'parameter_invalid', 'level'],
      ['/v1/kyc-tiers/basic', { ...basicUsd, currency: 'usd' }, 400, 'currency_invalid', 'currency'],
      ['/v1/kyc-tiers/basic', { ...basicUsd, daily_debit_max: 0 }, 400, 'amount_invalid', 'daily_debit_max'],
      ['/v1/kyc-tiers/basic', { ...basicUsd, balance_max: 1.5 }, 400, 'amount_invalid', 'balance_max'],
      ['/v1/kyc-tiers/basic', { currency: 'USD', per_transaction_max: 1, daily_debit_max: 1 }, 400, 'parameter_missing', 'monthly_debit_max'],
      ['/v1/kyc-tiers/basic', { ...basicUsd, weekly_debit_max: 1 }, 400, 'parameter_unknown', 'weekly_debit_max'],
    ];
    for (const [path, body, status, code, param] of cases) {
      const res = await tenant.call('PUT', path, { body });
      expect([res.status, res.body.error?.code, res.body.error?.param], JSON.stringify(body)).toEqual([status, code, param]);
    }
    expect((await tenant.call('GET', '/v1/kyc-tiers')).body.data).toEqual([]);
    expect((await h.admin('PUT', '/v1/kyc-tiers/basic', { body: basicUsd })).status).toBe(403); // a tenant's, not the admin's
  });

  it('a tier change applies to the next transfer of an account at that level', async () => {
    const tenant = await h.newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 10_000 });
    const payee = await createAccount(tenant.call);
    await tenant.call('POST', `/v1/accounts/${payer}`, { body: { kyc_level: 'basic' } });
    const send = async (amount: number) =>
      (await tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: payee, amount, currency: 'USD' } })).body;
    expect(await send(1_000)).toMatchObject({ status: 'succeeded' });
    await tenant.call('PUT', '/v1/kyc-tiers/basic', { body: { currency: 'USD', per_transaction_max: 999, daily_debit_max: null, monthly_debit_max: null } });
    expect(await send(1_000)).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' });
    await tenant.call('PUT', '/v1/kyc-tiers/basic', { body: { currency: 'USD', per_transaction_max: 1_000, daily_debit_max: null, monthly_debit_max: null } });
    expect(await send(1_000)).toMatchObject({ status: 'succeeded' });
    // The payee's tier (level none) caps its balance from now on: 2,000 + 1 > 2,000.
    await tenant.call('PUT', '/v1/kyc-tiers/none', { body: { currency: 'USD', per_transaction_max: null, daily_debit_max: null, monthly_debit_max: null, balance_max: 2_000 } });
    expect(await send(1)).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' });
    expect((await tenant.call('GET', `/v1/accounts/${payee}`)).body).toMatchObject({ balance: 2_000, available_balance: 2_000 });
    expect((await tenant.call('GET', `/v1/accounts/${payer}`)).body).toMatchObject({ balance: 8_000, available_balance: 8_000 });
  });
});
