import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, tenantRowCounts, type Call, type Harness } from '../test/harness.js';

let h: Harness;
let tenant: { id: string; apiKey: string; call: Call };
let user: string;
let payee: string;
let euro: string;
let foreign: string;

beforeAll(async () => {
  h = await startHarness();
  tenant = await h.newTenant();
  user = await createAccount(tenant.call, { fundMinor: 1_000 });
  payee = await createAccount(tenant.call);
  euro = await createAccount(tenant.call, { currency: 'EUR' });
  const other = await h.newTenant();
  foreign = await createAccount(other.call);
});
afterAll(async () => {
  await h?.close();
});

const transfer = (over: Record<string, unknown>) => ({
  from_account_id: user, to_account_id: payee, amount: 100, currency: 'USD', ...over,
});

type Case = {
  name: string;
  path?: string;
  body?: () => unknown;
  raw?: string;
  headers?: Record<string, string>;
  key?: string | null;
  status: number;
  code: string;
  param?: string;
};

const cases: Case[] = [
  { name: 'malformed JSON', raw: '{"amount": 1,', headers: { 'content-type': 'application/json' }, status: 400, code: 'invalid_json' },
  { name: 'unknown field', body: () => transfer({ memo: 'x' }), status: 400, code: 'parameter_unknown', param: 'memo' },
  { name: 'missing field', body: () => ({ from_account_id: user, to_account_id: payee, currency: 'USD' }), status: 400, code: 'parameter_missing', param: 'amount' },
  { name: 'float amount', body: () => transfer({ amount: 10.5 }), status: 400, code: 'amount_invalid', param: 'amount' },
  { name: 'negative amount', body: () => transfer({ amount: -100 }), status: 400, code: 'amount_invalid', param: 'amount' },
  { name: 'zero amount', body: () => transfer({ amount: 0 }), status: 400, code: 'amount_invalid', param: 'amount' },
  { name: 'too large amount', body: () => transfer({ amount: 1_000_000_000_001 }), status: 400, code: 'amount_invalid', param: 'amount' },
  { name: 'amount as a string', body: () => transfer({ amount: '100' }), status: 400, code: 'amount_invalid', param: 'amount' },
  { name: 'lower-case currency', body: () => transfer({ currency: 'usd' }), status: 400, code: 'currency_invalid', param: 'currency' },
  { name: 'unknown currency', body: () => transfer({ currency: 'XYZ' }), status: 400, code: 'currency_invalid', param: 'currency' },
  { name: 'currency mismatch', body: () => transfer({ to_account_id: euro }), status: 400, code: 'currency_mismatch' },
  { name: 'same account', body: () => transfer({ to_account_id: user }), status: 400, code: 'same_account' },
  { name: 'unknown account', body: () => transfer({ to_account_id: 'acct_01JD3W6Q4M1Y2Z3X4C5V6B7N8M' }), status: 404, code: 'resource_missing', param: 'to_account_id' },
  { name: "another tenant's account", body: () => transfer({ to_account_id: foreign }), status: 404, code: 'resource_missing' },
  { name: 'missing API key', body: () => transfer({}), key: null, status: 401, code: 'api_key_missing' },
  { name: 'invalid API key', body: () => transfer({}), key: 'sk_not_a_real_key', status: 401, code: 'api_key_invalid' },
  { name: 'oversized body', body: () => transfer({ description: 'x'.repeat(70 * 1024) }), status: 413, code: 'body_too_large' },
  { name: 'non-JSON body', raw: 'amount=100', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
  { name: 'top-up with a float amount', path: '/v1/topups', body: () => ({ account_id: user, amount: 1.5, currency: 'USD', source: { type: 'bank_account', token: 'btok_success' } }), status: 400, code: 'amount_invalid' },
  { name: 'top-up with an unknown source field', path: '/v1/topups', body: () => ({ account_id: user, amount: 100, currency: 'USD', source: { type: 'bank_account', token: 'btok_success', cvc: '123' } }), status: 400, code: 'parameter_unknown', param: 'source[cvc]' },
  { name: 'top-up into a currency the account does not hold', path: '/v1/topups', body: () => ({ account_id: euro, amount: 100, currency: 'USD', source: { type: 'bank_account', token: 'btok_success' } }), status: 400, code: 'currency_mismatch' },
  { name: 'account with an unknown type', path: '/v1/accounts', body: () => ({ type: 'system', currency: 'USD' }), status: 400, code: 'parameter_invalid', param: 'type' },
  { name: 'account with a float limit', path: '/v1/accounts', body: () => ({ type: 'user', currency: 'USD', limits: { daily_debit_max: 1.5 } }), status: 400, code: 'amount_invalid', param: 'limits[daily_debit_max]' },
];

describe('bad input answers the contract error and writes nothing', () => {
  it.each(cases)('$name → $status $code', async (c) => {
    const before = await tenantRowCounts(h.pool, tenant.id);
    const call = c.key === undefined ? tenant.call : h.as(c.key);
    const res = await call('POST', c.path ?? '/v1/transfers', {
      ...(c.body ? { body: c.body() } : { raw: c.raw }),
      headers: c.headers ?? {},
      idempotencyKey: `bad-${c.name}`,
    });
    expect(res.status).toBe(c.status);
    expect(res.body.error.code).toBe(c.code);
    expect(typeof res.body.error.message).toBe('string');
    if (c.param) expect(res.body.error.param).toBe(c.param);
    expect(await tenantRowCounts(h.pool, tenant.id)).toEqual(before);
  });

  it('GET of another tenant’s account is 404, never 403', async () => {
    const res = await tenant.call('GET', `/v1/accounts/${foreign}`);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
  });

  it('rejects bad list parameters', async () => {
    expect((await tenant.call('GET', `/v1/accounts/${user}/entries?limit=101`)).body.error).toMatchObject({ code: 'parameter_invalid', param: 'limit' });
    expect((await tenant.call('GET', `/v1/accounts/${user}/entries?order=asc`)).body.error).toMatchObject({ code: 'parameter_unknown', param: 'order' });
  });

  it('pages entries with limit and starting_after', async () => {
    for (const amount of [10, 20, 30]) {
      await tenant.call('POST', '/v1/transfers', { body: transfer({ to_account_id: payee, amount }) });
    }
    const first = await tenant.call('GET', `/v1/accounts/${payee}/entries?limit=2`);
    expect(first.body.has_more).toBe(true);
    expect(first.body.data.map((e: { amount: number }) => e.amount)).toEqual([30, 20]);
    const next = await tenant.call('GET', `/v1/accounts/${payee}/entries?limit=2&starting_after=${first.body.data[1].id}`);
    expect(next.body).toMatchObject({ has_more: false });
    expect(next.body.data.map((e: { amount: number }) => e.amount)).toEqual([10]);
  });

  it('answers unknown routes with 404 resource_missing', async () => {
    const res = await tenant.call('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('resource_missing');
  });
});
