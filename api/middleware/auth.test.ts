import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

describe('API keys and tenants', () => {
  it('the admin creates a tenant whose key is shown once and stored only as a digest', async () => {
    const res = await h.admin('POST', '/v1/admin/tenants', { body: { name: 'Acme Payments' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ object: 'tenant', name: 'Acme Payments' });
    expect(res.body.id).toMatch(/^tnt_/);
    const key = res.body.api_key as string;
    const { rows } = await h.pool.query('SELECT * FROM tenants WHERE id = $1', [res.body.id]);
    expect(JSON.stringify(rows[0])).not.toContain(key);

    const account = await h.as(key)('POST', '/v1/accounts', { body: { type: 'user', currency: 'JPY' } });
    expect(account.status).toBe(201);
    expect(account.body).toMatchObject({ object: 'account', currency: 'JPY', balance: 0, available_balance: 0 });
  });

  it('the admin key opens admin and ops routes only; tenant keys never open them', async () => {
    const tenant = await h.newTenant();
    expect((await h.admin('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' } })).body.error)
      .toMatchObject({ type: 'permission_error', code: 'forbidden' });
    expect((await tenant.call('POST', '/v1/admin/tenants', { body: { name: 'x' } })).status).toBe(403);
    expect((await tenant.call('GET', '/v1/ops/ledger/audit')).status).toBe(403);
    expect((await h.admin('GET', '/v1/ops/ledger/audit')).status).toBe(200);
  });

  it('rejects a malformed Authorization header', async () => {
    const res = await h.as(null)('GET', '/v1/accounts/acct_x', { headers: { authorization: 'Basic abc' } });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'api_key_invalid' });
  });

  it('tenant creation validates its input', async () => {
    const res = await h.admin('POST', '/v1/admin/tenants', { body: { name: '' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'name' });
  });
});
