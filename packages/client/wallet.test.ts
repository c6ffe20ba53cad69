import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../../store/ledger/audit.js';
import { serveApp, type ServedApp } from '../../simulators/serve.js';
import { startHarness, tenantRowCounts, type Harness } from '../../test/harness.js';
import { createSteadfastClient, SteadfastError, unwrap } from './src/index.js';

/** The wallet's happy path through the client, over HTTP, against the real API and a worker. */

let h: Harness;
let served: ServedApp;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '60000' } });
  served = await serveApp(h.app, { hostname: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await served?.close();
  await h?.close();
});

describe('@steadfast/client against the API', () => {
  it('creates accounts, tops up, transfers (replayed by its key), reads balances and the transfer', async () => {
    const tenant = await h.newTenant();
    const api = createSteadfastClient({ baseUrl: served.url, apiKey: tenant.apiKey });

    const user = await unwrap(api.POST('/v1/accounts', { body: { type: 'user', currency: 'USD' } }));
    const merchant = await unwrap(api.POST('/v1/accounts', { body: { type: 'merchant', currency: 'USD' } }));
    expect([user.object, user.type, user.balance, merchant.type]).toEqual(['account', 'user', 0, 'merchant']);

    const topup = await unwrap(api.POST('/v1/topups', {
      body: { account_id: user.id, amount: 5_000, currency: 'USD', source: { type: 'bank_account', token: 'btok_success' } },
    }));
    expect(topup).toMatchObject({ object: 'topup', status: 'succeeded', account_id: user.id, amount: 5_000 });

    const transferBody = { from_account_id: user.id, to_account_id: merchant.id, amount: 1_250, currency: 'USD', description: 'coffee' };
    const first = await api.POST('/v1/transfers', { body: transferBody, headers: { 'Idempotency-Key': 'order-42' } });
    expect(first.response.status).toBe(201);
    const transfer = await unwrap(Promise.resolve(first));
    expect(transfer).toMatchObject({ object: 'transfer', status: 'succeeded', failure_code: null, amount: 1_250, from_account_id: user.id });
    // The same call again (a retry after a lost answer): the first answer, nothing moves twice.
    const again = await api.POST('/v1/transfers', { body: transferBody, headers: { 'Idempotency-Key': 'order-42' } });
    expect([again.response.status, again.response.headers.get('idempotent-replayed'), again.data]).toEqual([201, 'true', transfer]);

    const balances = await Promise.all([user.id, merchant.id].map(async (id) => {
      const account = await unwrap(api.GET('/v1/accounts/{id}', { params: { path: { id } } }));
      return [account.balance, account.available_balance];
    }));
    expect(balances).toEqual([[3_750, 3_750], [1_250, 1_250]]);
    expect(await unwrap(api.GET('/v1/transfers/{id}', { params: { path: { id: transfer.id } } }))).toEqual(transfer);

    // Every POST carried a key: one idempotency record per logical call (the replay reused its key).
    expect((await tenantRowCounts(h.pool, tenant.id)).idempotency_keys).toBe(4);
    expect((await auditLedger(h.pool, { tenantId: tenant.id })).problems).toEqual([]);
  });

  it('business failures are SteadfastErrors with the contract’s code, sent once', async () => {
    const tenant = await h.newTenant();
    const api = createSteadfastClient({ baseUrl: served.url, apiKey: tenant.apiKey });
    const user = await unwrap(api.POST('/v1/accounts', { body: { type: 'user', currency: 'USD' } }));

    const same = await unwrap(api.POST('/v1/transfers', {
      body: { from_account_id: user.id, to_account_id: user.id, amount: 100, currency: 'USD' },
    })).catch((e: unknown) => e);
    expect(same).toBeInstanceOf(SteadfastError);
    expect(same).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'same_account', param: 'to_account_id' });

    const missing = await unwrap(api.GET('/v1/transfers/{id}', { params: { path: { id: 'tr_missing' } } })).catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, code: 'resource_missing', requestId: expect.any(String) });

    const badKey = createSteadfastClient({ baseUrl: served.url, apiKey: 'sk_not_a_key' });
    await expect(unwrap(badKey.GET('/v1/accounts/{id}', { params: { path: { id: user.id } } })))
      .rejects.toMatchObject({ status: 401, type: 'authentication_error', code: 'api_key_invalid' });
    // Nothing was written by the refused transfer.
    expect((await tenantRowCounts(h.pool, tenant.id)).transfers).toBe(0);
  });
});
