import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fxControl } from '../../simulators/processors/fx.js';
import { startProcessorsServer, type ProcessorsServer } from '../../simulators/processors/server.js';
import { createAccount, startHarness, type Harness } from '../../test/harness.js';
import { withTransaction } from '../../store/db.js';
import { ensureSystemAccount } from '../../store/ledger/accounts.js';
import { auditLedger } from '../../store/ledger/audit.js';
import { postTransaction } from '../../store/ledger/transactions.js';

const SEEDED = ['prod_card_business', 'prod_card_classic', 'prod_card_gold', 'prod_loan_auto', 'prod_loan_personal', 'prod_loan_small_business'];
const CACHE_KEY_PREFIX = `test:reference:${randomUUID()}`;

let h: Harness;
let sim: ProcessorsServer;
let fx: ReturnType<typeof fxControl>;
let tenant: Awaited<ReturnType<Harness['newTenant']>>;

beforeAll(async () => {
  // A simulator of its own: the provider's call counter belongs to this file.
  sim = await startProcessorsServer({ port: 0 });
  fx = fxControl(sim.url);
  h = await startHarness({ worker: false, env: { FX_PROVIDER_URL: `${sim.url}/fx`, CACHE_KEY_PREFIX } });
  tenant = await h.newTenant('Reference data');
});
afterAll(async () => {
  await h?.close();
  await sim?.close();
});
beforeEach(() => fx.reset());

describe('GET /v1/exchange-rates', () => {
  it('answers {base, rates, as_of} with decimal strings', async () => {
    const res = await tenant.call('GET', '/v1/exchange-rates?base=USD');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['as_of', 'base', 'rates']);
    expect(res.body.base).toBe('USD');
    expect(res.body.rates.USD).toBeUndefined();
    expect(Object.keys(res.body.rates)).toEqual(expect.arrayContaining(['EUR', 'GBP', 'JPY', 'BHD']));
    for (const rate of Object.values(res.body.rates)) expect(rate).toMatch(/^\d+(\.\d+)?$/);
    expect(Number(res.body.rates.EUR)).toBeGreaterThan(0.8);
    expect(new Date(res.body.as_of).toISOString()).toBe(res.body.as_of);
  });

  it('calls the provider once within the TTL, however many reads (100 concurrent on a cold key)', async () => {
    const reads = await Promise.all(Array.from({ length: 100 }, () => tenant.call('GET', '/v1/exchange-rates?base=EUR')));
    expect(reads.every((r) => r.status === 200 && r.body.base === 'EUR')).toBe(true);
    expect(new Set(reads.map((r) => JSON.stringify(r.body))).size).toBe(1);
    for (let i = 0; i < 5; i++) expect((await tenant.call('GET', '/v1/exchange-rates?base=EUR')).status).toBe(200);
    expect((await fx.stats()).requests_received).toBe(1);
  });

  it('defaults to USD and validates the base', async () => {
    expect((await tenant.call('GET', '/v1/exchange-rates')).body.base).toBe('USD');
    const lower = await tenant.call('GET', '/v1/exchange-rates?base=usd');
    expect(lower.status).toBe(400);
    expect(lower.body.error).toMatchObject({ code: 'parameter_invalid', param: 'base' });
    const unsupported = await tenant.call('GET', '/v1/exchange-rates?base=BRL'); // ISO, but the provider has no rates
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.error).toMatchObject({ code: 'parameter_invalid', param: 'base' });
    const unknownParam = await tenant.call('GET', '/v1/exchange-rates?base=USD&symbols=EUR');
    expect(unknownParam.body.error).toMatchObject({ code: 'parameter_unknown', param: 'symbols' });
    expect((await h.as(null)('GET', '/v1/exchange-rates')).status).toBe(401);
  });

  it('a provider failure with nothing cached is a 503 api_error; a cached value rides it out', async () => {
    await fx.fault(3);
    const down = await tenant.call('GET', '/v1/exchange-rates?base=SEK');
    expect(down.status).toBe(503);
    expect(down.body.error).toMatchObject({ type: 'api_error', code: 'internal_error' });
    await fx.reset();
    expect((await tenant.call('GET', '/v1/exchange-rates?base=NOK')).status).toBe(200);
    await fx.fault(3);
    expect((await tenant.call('GET', '/v1/exchange-rates?base=NOK')).status).toBe(200);
    expect((await fx.stats()).requests_received).toBe(1);
  });
});

describe('GET /v1/products', () => {
  it('lists the seeded catalogue in the contract list shape, paged by id', async () => {
    const first = await tenant.call('GET', '/v1/products?limit=2');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'list', has_more: true });
    expect(first.body.data).toHaveLength(2);
    const ids: string[] = [];
    let page = first;
    for (let i = 0; i < 100; i++) {
      ids.push(...page.body.data.map((p: { id: string }) => p.id));
      if (!page.body.has_more) break;
      page = await tenant.call('GET', `/v1/products?limit=2&starting_after=${ids.at(-1)}`);
    }
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(SEEDED));
  });

  it('filters by type and active', async () => {
    const loans = await tenant.call('GET', '/v1/products?type=loan&limit=100');
    expect(loans.body.data.length).toBeGreaterThanOrEqual(3);
    expect(loans.body.data.every((p: { type: string }) => p.type === 'loan')).toBe(true);
    const inactive = await tenant.call('GET', '/v1/products?active=false&limit=100');
    expect(inactive.body.data.every((p: { active: boolean }) => !p.active)).toBe(true);
    const bad = await tenant.call('GET', '/v1/products?type=mortgage');
    expect(bad.body.error).toMatchObject({ code: 'parameter_invalid', param: 'type' });
  });

  it('GET /v1/products/:id answers one product, else 404 resource_missing', async () => {
    const res = await tenant.call('GET', '/v1/products/prod_card_gold');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: 'prod_card_gold', object: 'product', type: 'card', name: 'Gold credit card', active: true,
      terms: { annual_fee: { amount: 9900, currency: 'USD' }, apr_percent: '19.99' },
    });
    expect(res.body.version).toBeGreaterThanOrEqual(1);
    for (const id of ['prod_nope', 'acct_01H', 'not a product!']) {
      const missing = await tenant.call('GET', `/v1/products/${encodeURIComponent(id)}`);
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ code: 'resource_missing' });
    }
  });
});

describe('money is never cached', () => {
  it('a balance read (GET /v1/accounts/:id) always reaches PostgreSQL', async () => {
    const account = await createAccount(tenant.call);
    const read = async () => (await tenant.call('GET', `/v1/accounts/${account}`)).body;
    expect(await read()).toMatchObject({ balance: 0, available_balance: 0 });
    // Money moved by the ledger code straight in PostgreSQL, behind the API's back (nothing there
    // could invalidate a cache): every next read must show it.
    const system = await ensureSystemAccount(h.pool, tenant.id, 'USD');
    const move = (direction: 'in' | 'out', amountMinor: number) => withTransaction(h.pool, (client) => postTransaction(client, {
      tenantId: tenant.id, idempotencyKey: `reference-${account}-${direction}`, kind: 'adjustment', currency: 'USD',
      postings: [
        { accountId: direction === 'in' ? system : account, direction: 'debit', amountMinor },
        { accountId: direction === 'in' ? account : system, direction: 'credit', amountMinor },
      ],
    }));
    await move('in', 777);
    for (let i = 0; i < 3; i++) expect(await read()).toMatchObject({ balance: 777, available_balance: 777 });
    await move('out', 700);
    for (let i = 0; i < 3; i++) expect(await read()).toMatchObject({ balance: 77, available_balance: 77 });
    // And nothing about the account sits in the cache's Redis keys (which this test fills with a cached read).
    expect((await tenant.call('GET', '/v1/products/prod_card_gold')).status).toBe(200);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await h.redis.scan(cursor, 'MATCH', `${CACHE_KEY_PREFIX}:*`, 'COUNT', 1_000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => k.includes('acct_') || k.includes('balance'))).toEqual([]);
    expect((await auditLedger(h.pool, { tenantId: tenant.id })).problems).toEqual([]);
  });
});

describe('OpenAPI', () => {
  it('documents the reference-data routes and the admin update', async () => {
    const doc = (await (await h.app.request('/openapi.json')).json()) as Record<string, any>;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/exchange-rates', '/v1/products', '/v1/products/{id}', '/v1/admin/products/{id}']));
    expect(doc.components.schemas.UpdateProduct.additionalProperties).toBe(false);
    expect(doc.components.schemas.ExchangeRates.properties.rates.additionalProperties).toMatchObject({ type: 'string' });
  });
});
