import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitEnv } from '../../platform/config-rate-limits.js';
import { findAccount } from '../../store/ledger/accounts.js';
import { balanceOf, createAccount, startHarness, tenantRowCounts, type Harness, auditedTenants } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '60000' } });
});
afterAll(async () => {
  await h?.close();
});

/** The tenants the running test makes: its ledger audit covers them only (other files write beside it). */
const auditedTenant = auditedTenants(() => h);
const newTenant = (harness = h) => auditedTenant(undefined, harness);

describe('P2P transfers', () => {
  it('200 concurrent transfers from an account funded for 100: exactly 100 succeed, no overdraft', async () => {
    const tenant = await newTenant();
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
    const tenant = await newTenant();
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
    const tenant = await newTenant();
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
      const tenant = await newTenant(slow);
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

describe('P2P transfers under the contract’s rate limits', () => {
  /** Contract §7, as the API runs when RATE_LIMIT_DEFAULT is unset (the harness raises it for bursts). */
  const CONTRACT_RATE_LIMIT = { algorithm: 'token_bucket', rate: 100, period: '1s', burst: 200 };

  it('120 concurrent transfers meeting the contract’s 100/s with 30 tokens left: 429s write nothing, each accepted transfer moves money once, no overdraft', async () => {
    const limited = await startHarness({
      env: {
        API_WAIT_WINDOW_MS: '60000',
        RATE_LIMIT_DEFAULT: JSON.stringify(CONTRACT_RATE_LIMIT),
        // A loaded test machine can keep Redis past the 100 ms default; the limiter would then fail
        // open to an in-process bucket of its own (a second burst of 200). The policy stays the contract's.
        RATE_LIMIT_REDIS_TIMEOUT_MS: '5000',
      },
    });
    try {
      expect(limited.config.RATE_LIMIT_DEFAULT).toEqual(rateLimitEnv.RATE_LIMIT_DEFAULT.parse(undefined));
      const tenant = await newTenant(limited);
      const amount = 700;
      const fundedFor = 10;
      const payer = await createAccount(tenant.call, { fundMinor: amount * fundedFor });
      const payees = await Promise.all([0, 1, 2, 3].map(() => createAccount(tenant.call)));
      const isRefusal = (r: { status: number; body: any; headers: Headers }) => r.status === 429
        && r.body.error.type === 'rate_limit_error' && r.body.error.code === 'rate_limited' && Number(r.headers.get('retry-after')) >= 1;
      const read = () => tenant.call('GET', `/v1/accounts/${payer}`);

      // Empty the key's bucket with cheap reads until one is refused (the API answers reads far
      // faster than the 100/s refill)…
      let drained = false;
      for (let round = 0; round < 40 && !drained; round++) {
        const reads = await Promise.all(Array.from({ length: 50 }, read));
        expect(reads.every((r) => r.status === 200 || isRefusal(r))).toBe(true);
        drained = reads.some(isRefusal);
      }
      expect(drained).toBe(true);
      // …then let it refill to REFILLED tokens: at least that many transfers of the burst are
      // taken (more than the payer can pay for), and the rest meet the 100/s refill.
      const REFILLED = 30;
      await expect.poll(async () => Number((await read()).headers.get('x-ratelimit-remaining') ?? 0), { timeout: 10_000, interval: 100 })
        .toBeGreaterThanOrEqual(REFILLED);

      const results = await Promise.all(Array.from({ length: 120 }, (_, i) =>
        tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: payees[i % 4], amount, currency: 'USD' } })));

      // Each answer is a refusal with the contract's 429, or a transfer taken and finished under the contract's policy.
      const accepted = results.filter((r) => r.status === 201);
      const refused = results.filter(isRefusal);
      expect(accepted.length + refused.length, JSON.stringify(results.find((r) => r.status !== 201 && !isRefusal(r))?.body)).toBe(results.length);
      expect(accepted.length).toBeGreaterThanOrEqual(REFILLED);
      expect(accepted.map((r) => r.headers.get('x-ratelimit-limit'))).toEqual(accepted.map(() => String(CONTRACT_RATE_LIMIT.burst)));
      const succeeded = accepted.filter((r) => r.body.status === 'succeeded').map((r) => r.body.id as string);
      const failed = accepted.filter((r) => r.body.status === 'failed');
      expect(succeeded).toHaveLength(fundedFor);
      expect(failed).toHaveLength(accepted.length - succeeded.length);
      expect(new Set(failed.map((r) => r.body.failure_code))).toEqual(new Set(['insufficient_funds']));

      // Read from PostgreSQL, not the API (the bucket is empty again).
      const { rows: moves } = await h.pool.query(
        `SELECT reference_id, count(*)::int AS n FROM ledger_transactions WHERE tenant_id = $1 AND kind = 'transfer' GROUP BY reference_id`,
        [tenant.id],
      );
      expect(Object.fromEntries(moves.map((m) => [m.reference_id, m.n]))).toEqual(Object.fromEntries(succeeded.map((id) => [id, 1])));
      expect((await tenantRowCounts(h.pool, tenant.id)).transfers).toBe(accepted.length); // a 429 wrote nothing
      const account = async (id: string) => (await findAccount(h.pool, tenant.id, id))!;
      expect(await account(payer)).toMatchObject({ balanceMinor: 0, heldMinor: 0 });
      const received = await Promise.all(payees.map(account));
      expect(received.reduce((sum, a) => sum + a.balanceMinor, 0)).toBe(amount * succeeded.length);
      const { rows: holds } = await h.pool.query('SELECT status, count(*)::int AS n FROM holds WHERE account_id = $1 GROUP BY status', [payer]);
      expect(Object.fromEntries(holds.map((r) => [r.status, r.n]))).toEqual({ posted: succeeded.length });
      // afterEach audits the tenant's ledger: balanced, balances from entries, no overdraft.
    } finally {
      await limited.close();
    }
  });
});
