import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, createAccount, startHarness, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '60000' } });
});
afterAll(async () => {
  const audit = await h.admin('GET', '/v1/ops/ledger/audit');
  expect(audit.body.problems).toEqual([]);
  await h.close();
});

describe('P2P transfers', () => {
  it('200 concurrent transfers from an account funded for 100: exactly 100 succeed, no overdraft', async () => {
    const tenant = await h.newTenant();
    const amount = 700;
    const payer = await createAccount(tenant.call, { fundMinor: amount * 100 });
    const payees = await Promise.all([0, 1, 2, 3].map(() => createAccount(tenant.call)));

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        tenant.call('POST', '/v1/transfers', {
          body: { from_account_id: payer, to_account_id: payees[i % 4], amount, currency: 'USD' },
        }),
      ),
    );
    expect(results.filter((r) => r.status !== 201).map((r) => [r.status, r.body])).toEqual([]);
    const succeeded = results.filter((r) => r.body.status === 'succeeded');
    const failed = results.filter((r) => r.body.status === 'failed');
    expect(succeeded).toHaveLength(100);
    expect(failed).toHaveLength(100);
    expect(new Set(failed.map((r) => r.body.failure_code))).toEqual(new Set(['insufficient_funds']));

    expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 0, available: 0 });
    const received = await Promise.all(payees.map((p) => balanceOf(tenant.call, p)));
    expect(received.reduce((sum, b) => sum + b.balance, 0)).toBe(amount * 100);
    const { rows } = await h.pool.query(`SELECT status, count(*)::int AS n FROM holds WHERE account_id = $1 GROUP BY status`, [payer]);
    expect(Object.fromEntries(rows.map((r) => [r.status, r.n]))).toEqual({ posted: 100 });
  });

  it('moves money user → merchant and records balanced entries on both sides', async () => {
    const tenant = await h.newTenant();
    const user = await createAccount(tenant.call, { fundMinor: 5_000 });
    const merchant = await createAccount(tenant.call, { type: 'merchant' });
    const res = await tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: user, to_account_id: merchant, amount: 1_250, currency: 'USD', description: 'coffee' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'transfer', status: 'succeeded', failure_code: null, amount: 1_250, currency: 'USD',
      from_account_id: user, to_account_id: merchant, description: 'coffee',
    });
    expect(res.body.id).toMatch(/^tr_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(await balanceOf(tenant.call, user)).toEqual({ balance: 3_750, available: 3_750 });
    expect(await balanceOf(tenant.call, merchant)).toEqual({ balance: 1_250, available: 1_250 });

    const entries = await tenant.call('GET', `/v1/accounts/${merchant}/entries`);
    expect(entries.body).toMatchObject({ object: 'list', has_more: false });
    expect(entries.body.data).toEqual([expect.objectContaining({ direction: 'credit', amount: 1_250, currency: 'USD' })]);
    const fetched = await tenant.call('GET', `/v1/transfers/${res.body.id}`);
    expect(fetched.body).toEqual(res.body);
  });

  it('enforces per-transaction and daily limits as failed transfers with limit_exceeded', async () => {
    const tenant = await h.newTenant();
    const user = await createAccount(tenant.call, { fundMinor: 10_000, limits: { per_transaction_max: 3_000, daily_debit_max: 5_000 } });
    const other = await createAccount(tenant.call);
    const send = (amount: number) =>
      tenant.call('POST', '/v1/transfers', { body: { from_account_id: user, to_account_id: other, amount, currency: 'USD' } });

    expect((await send(3_001)).body).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' });
    expect((await send(3_000)).body).toMatchObject({ status: 'succeeded' });
    expect((await send(2_001)).body).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' });
    expect((await send(2_000)).body).toMatchObject({ status: 'succeeded' });
    expect(await balanceOf(tenant.call, user)).toEqual({ balance: 5_000, available: 5_000 });
  });

  it('answers 202 pending when the workflow outlasts the wait window, and finishes later', async () => {
    const slow = await startHarness({ env: { API_WAIT_WINDOW_MS: '0' } });
    try {
      const tenant = await slow.newTenant();
      const from = await createAccount(tenant.call);
      const to = await createAccount(tenant.call);
      const res = await tenant.call('POST', '/v1/transfers', {
        body: { from_account_id: from, to_account_id: to, amount: 10, currency: 'USD' },
      });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('pending');
      await expect.poll(async () => (await tenant.call('GET', `/v1/transfers/${res.body.id}`)).body.status, { timeout: 20_000 })
        .toBe('failed');
    } finally {
      await slow.close();
    }
  });
});
