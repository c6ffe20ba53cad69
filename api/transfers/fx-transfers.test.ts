import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FxQuoteInvalidError } from '../../domain/fx/quotes.js';
import { startProcessorsServer, type ProcessorsServer } from '../../simulators/processors/server.js';
import { insertOrAdoptQuotedTransfer } from '../../store/wallet/transfers.js';
import { balanceOf, createAccount, startHarness, tenantRowCounts, type Harness, auditedTenants } from '../../test/harness.js';

/**
 * Transfers between accounts of two currencies (contract §2 "Currency conversion"): the quote is
 * claimed once, in the transaction that inserts the transfer; the post is one ledger transaction
 * balanced per currency through the tenant's FX system accounts.
 */

let h: Harness;
/** The same database and provider with FX_QUOTE_TTL 300ms and no worker: it only makes quotes that expire. */
let shortTtl: Harness;
let sim: ProcessorsServer;

beforeAll(async () => {
  sim = await startProcessorsServer({ port: 0 });
  const env = { FX_PROVIDER_URL: `${sim.url}/fx`, CACHE_KEY_PREFIX: `test:fx-transfers:${randomUUID()}`, API_WAIT_WINDOW_MS: '60000' };
  h = await startHarness({ env });
  shortTtl = await startHarness({ worker: false, env: { ...env, FX_QUOTE_TTL: '300ms' } });
});
afterAll(async () => {
  await shortTtl?.close();
  await h?.close();
  await sim?.close();
});

const auditedTenant = auditedTenants(() => h);
const newTenant = () => auditedTenant('FX transfers');

type Tenant = Awaited<ReturnType<typeof newTenant>>;

async function quote(tenant: Tenant, from: string, to: string, amount: number) {
  const res = await tenant.call('POST', '/v1/fx/quotes', { body: { from_currency: from, to_currency: to, amount } });
  expect(res.status).toBe(201);
  return res.body as { id: string; amount: number; converted_amount: number; rate: string };
}

/** The tenant's FX system accounts by currency: balance (stored + pending credits). */
async function fxBalances(tenantId: string): Promise<Record<string, number>> {
  const { rows } = await h.pool.query(
    `SELECT currency, (balance + coalesce((SELECT sum(amount) FROM ledger_pending_credits p WHERE p.account_id = a.id), 0))::int AS balance
     FROM accounts a WHERE tenant_id = $1 AND type = 'system' AND owner_id = 'fx'`, [tenantId],
  );
  return Object.fromEntries(rows.map((r) => [r.currency, r.balance]));
}

describe('cross-currency transfers', () => {
  it.each([
    ['USD', 'JPY', 1_050],
    ['JPY', 'USD', 50_000],
    ['USD', 'BHD', 1_050],
  ])('%s → %s: the payer pays exactly amount, the payee gets exactly the quoted converted_amount, the FX accounts take both legs', async (from, to, amount) => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { currency: from, fundMinor: amount * 3 });
    const payee = await createAccount(tenant.call, { currency: to });
    const q = await quote(tenant, from, to, amount);

    const res = await tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: payer, to_account_id: payee, amount, currency: from, quote_id: q.id },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'succeeded', failure_code: null, amount, currency: from, to_currency: to, converted_amount: q.converted_amount, quote_id: q.id,
    });
    expect(await balanceOf(tenant.call, payer)).toEqual({ balance: amount * 2, available: amount * 2 });
    expect(await balanceOf(tenant.call, payee)).toEqual({ balance: q.converted_amount, available: q.converted_amount });
    expect(await fxBalances(tenant.id)).toEqual({ [from]: amount, [to]: -q.converted_amount });

    // ONE ledger transaction of four entries, balanced in each currency.
    const { rows } = await h.pool.query(
      `SELECT e.currency, e.direction, e.amount::int AS amount FROM ledger_entries e JOIN transfers t ON t.transaction_id = e.transaction_id
       WHERE t.id = $1 ORDER BY e.currency, e.direction`, [res.body.id],
    );
    expect(rows).toHaveLength(4);
    for (const [currency, moved] of [[from, amount], [to, q.converted_amount]] as const) {
      expect(rows.filter((r) => r.currency === currency)).toEqual([
        { currency, direction: 'credit', amount: moved }, { currency, direction: 'debit', amount: moved },
      ]);
    }
    const used = await h.pool.query('SELECT used_by_transfer_id FROM fx_quotes WHERE id = $1', [q.id]);
    expect(used.rows[0].used_by_transfer_id).toBe(res.body.id);
    expect((await tenant.call('GET', `/v1/transfers/${res.body.id}`)).body).toEqual(res.body);
    const event = await h.pool.query(`SELECT payload FROM outbox WHERE idempotency_key = $1`, [`transfer.succeeded:${res.body.id}`]);
    expect(event.rows[0].payload).toMatchObject({ amount, currency: from, to_currency: to, converted_amount: q.converted_amount, quote_id: q.id });
  });

  it('a same-currency transfer shows no conversion; with a quote_id it is 400 parameter_invalid', async () => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 1_000 });
    const payee = await createAccount(tenant.call);
    const res = await tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: payee, amount: 100, currency: 'USD' } });
    expect(res.body).toMatchObject({ status: 'succeeded', to_currency: null, converted_amount: null, quote_id: null });
    const q = await quote(tenant, 'USD', 'EUR', 100);
    const refused = await tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: payer, to_account_id: payee, amount: 100, currency: 'USD', quote_id: q.id },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'parameter_invalid', param: 'quote_id' });
  });

  it('refuses what the quote does not cover, writing nothing', async () => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 10_000 });
    const yen = await createAccount(tenant.call, { currency: 'JPY' });
    const euro = await createAccount(tenant.call, { currency: 'EUR' });
    const q = await quote(tenant, 'USD', 'JPY', 1_000);
    const before = await tenantRowCounts(h.pool, tenant.id);
    const send = (body: Record<string, unknown>) =>
      tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: yen, amount: 1_000, currency: 'USD', ...body } });
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{}, 400, 'currency_mismatch', 'quote_id'], // two currencies, no quote
      [{ quote_id: q.id, currency: 'JPY' }, 400, 'currency_mismatch', 'currency'], // not the payer's currency
      [{ quote_id: q.id, amount: 999 }, 400, 'parameter_invalid', 'amount'], // not the quote's amount
      [{ quote_id: q.id, to_account_id: euro }, 400, 'currency_mismatch', 'quote_id'], // not the payee's currency
      [{ quote_id: 'fxq_01JD3Q4R5S6T7V8W9X0YZABCDE' }, 404, 'resource_missing', 'quote_id'],
    ];
    for (const [body, status, code, param] of cases) {
      const res = await send(body);
      expect([res.status, res.body.error]).toEqual([status, expect.objectContaining({ code, param })]);
    }
    const other = await h.newTenant('FX quote of another tenant');
    const foreign = await quote(other as Tenant, 'USD', 'JPY', 1_000);
    expect((await send({ quote_id: foreign.id })).status).toBe(404);
    expect(await tenantRowCounts(h.pool, tenant.id)).toEqual(before);
    expect((await h.pool.query('SELECT used_by_transfer_id FROM fx_quotes WHERE id = $1', [q.id])).rows[0].used_by_transfer_id).toBeNull();
  });

  it('an expired quote is 409 fx_quote_invalid, and nothing is written', async () => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 10_000 });
    const payee = await createAccount(tenant.call, { currency: 'EUR' });
    const expiring = await shortTtl.as(tenant.apiKey)('POST', '/v1/fx/quotes', { body: { from_currency: 'USD', to_currency: 'EUR', amount: 2_000 } });
    expect(new Date(expiring.body.expires_at).getTime() - Date.now()).toBeLessThanOrEqual(300);
    await new Promise((r) => setTimeout(r, 400));
    const before = await tenantRowCounts(h.pool, tenant.id);
    const res = await tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: payer, to_account_id: payee, amount: 2_000, currency: 'USD', quote_id: expiring.body.id },
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'fx_quote_invalid', param: 'quote_id' });
    expect(await tenantRowCounts(h.pool, tenant.id)).toEqual(before);
    expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 10_000, available: 10_000 });
  });

  it('a used quote is 409 fx_quote_invalid; a retry with the same Idempotency-Key gets the same transfer', async () => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 10_000 });
    const payee = await createAccount(tenant.call, { currency: 'GBP' });
    const q = await quote(tenant, 'USD', 'GBP', 3_000);
    const body = { from_account_id: payer, to_account_id: payee, amount: 3_000, currency: 'USD', quote_id: q.id };
    const first = await tenant.call('POST', '/v1/transfers', { body, idempotencyKey: 'fx-retry-1' });
    expect(first.body).toMatchObject({ status: 'succeeded', converted_amount: q.converted_amount });
    const retry = await tenant.call('POST', '/v1/transfers', { body, idempotencyKey: 'fx-retry-1' });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');

    const before = await tenantRowCounts(h.pool, tenant.id);
    const again = await tenant.call('POST', '/v1/transfers', { body, idempotencyKey: 'fx-retry-2' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'fx_quote_invalid' });
    expect(await tenantRowCounts(h.pool, tenant.id)).toMatchObject({ ...before, idempotency_keys: expect.any(Number) });
    expect(await balanceOf(tenant.call, payee)).toEqual({ balance: q.converted_amount, available: q.converted_amount });
  });

  it('a retry that reaches the store again (its first response lost) adopts its transfer, though its quote is now used', async () => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 10_000 });
    const payee = await createAccount(tenant.call, { currency: 'JPY' });
    const q = await quote(tenant, 'USD', 'JPY', 4_000);
    const input = {
      tenantId: tenant.id, fromAccountId: payer, toAccountId: payee, amountMinor: 4_000, currency: 'USD', description: null,
      quoteId: q.id, toCurrency: 'JPY', convertedMinor: q.converted_amount,
    };
    const key = { key: 'fx-adopt', retentionHours: 24 };
    const first = await insertOrAdoptQuotedTransfer(h.pool, input, key);
    expect(first).toMatchObject({ adopted: false, sameRequest: true });
    expect(await insertOrAdoptQuotedTransfer(h.pool, input, key)).toEqual({ id: first.id, adopted: true, sameRequest: true });
    // Another key: the quote is used.
    await expect(insertOrAdoptQuotedTransfer(h.pool, input, { key: 'fx-adopt-other', retentionHours: 24 })).rejects.toBeInstanceOf(FxQuoteInvalidError);
    expect((await tenantRowCounts(h.pool, tenant.id)).transfers).toBe(1);
    await h.pool.query('DELETE FROM transfers WHERE id = $1', [first.id]); // never started: as the API's undo does
    expect((await h.pool.query('SELECT used_by_transfer_id FROM fx_quotes WHERE id = $1', [q.id])).rows[0].used_by_transfer_id).toBeNull();
  });

  it('concurrent transfers racing for one quote: exactly one wins', async () => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 100_000 });
    const payee = await createAccount(tenant.call, { currency: 'EUR' });
    const q = await quote(tenant, 'USD', 'EUR', 5_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: payer, to_account_id: payee, amount: 5_000, currency: 'USD', quote_id: q.id },
    })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'fx_quote_invalid')).toBe(true);
    expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 95_000, available: 95_000 });
    expect(await balanceOf(tenant.call, payee)).toEqual({ balance: q.converted_amount, available: q.converted_amount });
    expect((await tenantRowCounts(h.pool, tenant.id)).transfers).toBe(1);
  });

  it('a payee above its balance cap after the conversion: failed limit_exceeded, the hold voided, nothing credited', async () => {
    const tenant = await newTenant();
    const payer = await createAccount(tenant.call, { fundMinor: 10_000 });
    const payee = await createAccount(tenant.call, { currency: 'JPY' });
    const q = await quote(tenant, 'USD', 'JPY', 5_000);
    await h.pool.query('UPDATE accounts SET balance_max = $2 WHERE id = $1', [payee, q.converted_amount - 1]);
    const res = await tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: payer, to_account_id: payee, amount: 5_000, currency: 'USD', quote_id: q.id },
    });
    expect(res.body).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded', converted_amount: q.converted_amount });
    expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 10_000, available: 10_000 });
    expect(await balanceOf(tenant.call, payee)).toEqual({ balance: 0, available: 0 });
    expect(await fxBalances(tenant.id)).toEqual({}); // created on demand in the post's transaction, rolled back with it

    // At the cap exactly, it goes through.
    await h.pool.query('UPDATE accounts SET balance_max = $2 WHERE id = $1', [payee, q.converted_amount]);
    const fits = await quote(tenant, 'USD', 'JPY', 5_000);
    await h.pool.query('UPDATE accounts SET balance_max = $2 WHERE id = $1', [payee, fits.converted_amount]);
    const ok = await tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: payer, to_account_id: payee, amount: 5_000, currency: 'USD', quote_id: fits.id },
    });
    expect(ok.body).toMatchObject({ status: 'succeeded' });
    expect((await balanceOf(tenant.call, payee)).balance).toBe(fits.converted_amount);
  });
});
