import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, createAccount, startHarness, tenantRowCounts, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '30000' } });
});
afterAll(async () => {
  await h?.close();
});

const topUp = (accountId: string, token: string, amount = 5_000) => ({
  account_id: accountId, amount, currency: 'USD', source: { type: 'bank_account', token },
});

async function bankRecord(topupId: string) {
  const { rows } = await h.pool.query('SELECT attempts, status FROM sim_bank_pulls WHERE idempotency_key = $1', [
    `topup-${topupId}:pull`,
  ]);
  return rows;
}

describe('top-ups', () => {
  it('btok_flaky fails twice, then pulls exactly once and credits the wallet', async () => {
    const tenant = await h.newTenant();
    const account = await createAccount(tenant.call);
    const res = await tenant.call('POST', '/v1/topups', { body: topUp(account, 'btok_flaky') });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ object: 'topup', status: 'succeeded', failure_code: null, amount: 5_000, source: { type: 'bank_account' } });
    expect(await bankRecord(res.body.id)).toEqual([{ attempts: 3, status: 'succeeded' }]);
    expect(await balanceOf(tenant.call, account)).toEqual({ balance: 5_000, available: 5_000 });
    expect((await tenant.call('GET', `/v1/topups/${res.body.id}`)).body).toEqual(res.body);
  });

  it('btok_insufficient_funds fails with bank_declined and credits nothing', async () => {
    const tenant = await h.newTenant();
    const account = await createAccount(tenant.call);
    const res = await tenant.call('POST', '/v1/topups', { body: topUp(account, 'btok_insufficient_funds') });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'failed', failure_code: 'bank_declined' });
    expect(await bankRecord(res.body.id)).toEqual([{ attempts: 1, status: 'declined' }]);
    expect(await balanceOf(tenant.call, account)).toEqual({ balance: 0, available: 0 });
    expect((await tenantRowCounts(h.pool, tenant.id)).ledger_transactions).toBe(0);
  });

  it('funds come from the tenant’s system account, which goes negative by the same amount', async () => {
    const tenant = await h.newTenant();
    const account = await createAccount(tenant.call, { currency: 'BHD' });
    await tenant.call('POST', '/v1/topups', { body: { ...topUp(account, 'btok_success', 1_234), currency: 'BHD' } });
    // Balances as the ledger reads them: stored plus pending credits (schema 0011).
    const { rows } = await h.pool.query(
      `SELECT a.type, (ledger_read_account(a.tenant_id, a.id)).balance::int AS balance FROM accounts a WHERE a.tenant_id = $1 ORDER BY a.type`,
      [tenant.id],
    );
    expect(rows).toEqual([{ type: 'system', balance: -1_234 }, { type: 'user', balance: 1_234 }]);
  });

  it('another tenant’s top-up is not found', async () => {
    const a = await h.newTenant();
    const b = await h.newTenant();
    const account = await createAccount(a.call);
    const res = await a.call('POST', '/v1/topups', { body: topUp(account, 'btok_success') });
    expect((await b.call('GET', `/v1/topups/${res.body.id}`)).status).toBe(404);
  });
});
