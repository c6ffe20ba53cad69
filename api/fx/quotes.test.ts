import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySpread, convertMinor } from '../../domain/fx/convert.js';
import { startProcessorsServer, type ProcessorsServer } from '../../simulators/processors/server.js';
import { startHarness, type Harness } from '../../test/harness.js';

/** `POST /v1/fx/quotes` (contract §2 "Currency conversion"), against the simulated FX provider. */

let h: Harness;
let sim: ProcessorsServer;
let tenant: Awaited<ReturnType<Harness['newTenant']>>;

beforeAll(async () => {
  sim = await startProcessorsServer({ port: 0 });
  h = await startHarness({
    worker: false,
    env: { FX_PROVIDER_URL: `${sim.url}/fx`, CACHE_KEY_PREFIX: `test:fx-quotes:${randomUUID()}`, FX_SPREAD_BPS: '50', FX_QUOTE_TTL: '30s' },
  });
  tenant = await h.newTenant('FX quotes');
});
afterAll(async () => {
  await h?.close();
  await sim?.close();
});

const quotesOf = async (tenantId: string) =>
  (await h.pool.query('SELECT count(*)::int AS n FROM fx_quotes WHERE tenant_id = $1', [tenantId])).rows[0].n as number;

describe('POST /v1/fx/quotes', () => {
  it.each([
    ['USD', 'JPY', 1_050],
    ['JPY', 'USD', 50_000],
    ['USD', 'BHD', 1_050],
    ['BHD', 'EUR', 12_345],
  ])('%s → %s: the provider’s rate less 50 bps, the amount rounded down in the target’s minor unit', async (from, to, amount) => {
    const rates = await tenant.call('GET', `/v1/exchange-rates?base=${from}`);
    const before = Date.now();
    const res = await tenant.call('POST', '/v1/fx/quotes', { body: { from_currency: from, to_currency: to, amount } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['amount', 'converted_amount', 'expires_at', 'from_currency', 'id', 'object', 'rate', 'to_currency']);
    expect(res.body).toMatchObject({ object: 'fx_quote', from_currency: from, to_currency: to, amount });
    expect(res.body.id).toMatch(/^fxq_[0-9A-HJKMNP-TV-Z]{26}$/);
    // The same cached provider rates as GET /v1/exchange-rates, less the spread, exactly.
    expect(res.body.rate).toBe(applySpread(rates.body.rates[to], 50));
    expect(BigInt(res.body.converted_amount)).toBe(convertMinor(amount, from, to, res.body.rate));
    const ttlMs = new Date(res.body.expires_at).getTime() - before;
    expect(ttlMs).toBeGreaterThan(28_000);
    expect(ttlMs).toBeLessThanOrEqual(31_000);
    expect((await tenant.call('GET', `/v1/fx/quotes/${res.body.id}`)).body).toEqual(res.body);
  });

  it('makes a new quote on every request (quotes are never cached)', async () => {
    const body = { from_currency: 'EUR', to_currency: 'GBP', amount: 10_000 };
    const [a, b] = [await tenant.call('POST', '/v1/fx/quotes', { body }), await tenant.call('POST', '/v1/fx/quotes', { body })];
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.id).not.toBe(b.body.id);
  });

  it.each([
    ['same currency', { from_currency: 'USD', to_currency: 'USD', amount: 100 }, 'parameter_invalid', 'to_currency'],
    ['an unknown currency', { from_currency: 'XYZ', to_currency: 'USD', amount: 100 }, 'currency_invalid', 'from_currency'],
    ['a lower-case currency', { from_currency: 'USD', to_currency: 'jpy', amount: 100 }, 'currency_invalid', 'to_currency'],
    ['a currency the provider has no rate for', { from_currency: 'USD', to_currency: 'BRL', amount: 100 }, 'parameter_invalid', 'to_currency'],
    ['a base the provider has no rates for', { from_currency: 'BRL', to_currency: 'USD', amount: 100 }, 'parameter_invalid', 'from_currency'],
    ['a zero amount', { from_currency: 'USD', to_currency: 'JPY', amount: 0 }, 'amount_invalid', 'amount'],
    ['a fractional amount', { from_currency: 'USD', to_currency: 'JPY', amount: 10.5 }, 'amount_invalid', 'amount'],
    ['an amount that converts to nothing (¥1 is under a cent)', { from_currency: 'JPY', to_currency: 'USD', amount: 1 }, 'amount_invalid', 'amount'],
    ['a missing amount', { from_currency: 'USD', to_currency: 'JPY' }, 'parameter_missing', 'amount'],
    ['an unknown field', { from_currency: 'USD', to_currency: 'JPY', amount: 100, rate: '2' }, 'parameter_unknown', 'rate'],
  ])('%s: 400 %s, nothing written', async (_name, body, code, param) => {
    const fresh = await h.newTenant('FX quote validation');
    const res = await fresh.call('POST', '/v1/fx/quotes', { body });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
    expect(await quotesOf(fresh.id)).toBe(0);
  });

  it('another tenant’s quote is 404; no key is 401', async () => {
    const res = await tenant.call('POST', '/v1/fx/quotes', { body: { from_currency: 'USD', to_currency: 'EUR', amount: 500 } });
    const other = await h.newTenant('FX other tenant');
    expect((await other.call('GET', `/v1/fx/quotes/${res.body.id}`)).body.error).toMatchObject({ code: 'resource_missing' });
    expect((await h.as(null)('POST', '/v1/fx/quotes', { body: { from_currency: 'USD', to_currency: 'EUR', amount: 500 } })).status).toBe(401);
  });
});
