import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness.js';
import { hashApiKey } from './auth.js';

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
    // Its first key row: the digest only.
    const keys = await h.pool.query('SELECT * FROM api_keys WHERE tenant_id = $1', [res.body.id]);
    expect(keys.rows).toHaveLength(1);
    expect(keys.rows[0]).toMatchObject({ key_hash: hashApiKey(key), last4: key.slice(-4) });
    expect(JSON.stringify(keys.rows)).not.toContain(key.slice(3, -4));

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

describe('tenant API keys: issue, list, revoke (at once or after a grace period)', () => {
  const keysOf = (tenantId: string) => `/v1/admin/tenants/${tenantId}/api-keys`;
  const works = async (key: string) => (await h.as(key)('GET', '/v1/accounts/acct_missing')).status === 404;

  it('issues a second key (shown once, stored as a digest); both work; the list shows both without the keys', async () => {
    const tenant = await h.newTenant();
    const res = await h.admin('POST', keysOf(tenant.id));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ object: 'api_key', last4: (res.body.key as string).slice(-4) });
    expect(res.body.id).toMatch(/^key_[0-9A-Z]{26}$/);
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'id', 'key', 'last4', 'object']);
    const second = res.body.key as string;
    expect(await works(second)).toBe(true);
    expect(await works(tenant.apiKey)).toBe(true);

    const { rows } = await h.pool.query('SELECT * FROM api_keys WHERE tenant_id = $1', [tenant.id]);
    expect(rows.map((r) => r.key_hash).sort()).toEqual([hashApiKey(second), hashApiKey(tenant.apiKey)].sort());
    for (const key of [second, tenant.apiKey]) expect(JSON.stringify(rows)).not.toContain(key.slice(3, -4));

    const list = await h.admin('GET', `${keysOf(tenant.id)}?limit=1`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ object: 'list', has_more: true });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({
      id: res.body.id, object: 'api_key', last4: second.slice(-4), created_at: res.body.created_at, expires_at: null, revoked_at: null,
    });
    expect(Object.keys(list.body.data[0]).sort()).toEqual(['created_at', 'expires_at', 'id', 'last4', 'last_used_at', 'object', 'revoked_at']);
    const next = await h.admin('GET', `${keysOf(tenant.id)}?limit=1&starting_after=${res.body.id}`);
    expect(next.body).toMatchObject({ has_more: false, data: [{ last4: tenant.apiKey.slice(-4) }] });
    expect(JSON.stringify([list.body, next.body])).not.toContain(second.slice(3, -4));
  });

  it('revoked without grace: 401 api_key_invalid at once; the tenant’s other key keeps working', async () => {
    const tenant = await h.newTenant();
    const issued = (await h.admin('POST', keysOf(tenant.id))).body;
    const revoked = await h.admin('DELETE', `${keysOf(tenant.id)}/${issued.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: issued.id, object: 'api_key', revoked_at: expect.any(String) });
    expect(revoked.body.expires_at).toBe(revoked.body.revoked_at);
    const refused = await h.as(issued.key)('GET', '/v1/accounts/acct_missing');
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ type: 'authentication_error', code: 'api_key_invalid' });
    expect(await works(tenant.apiKey)).toBe(true);
  });

  it('revoked with a grace: works until expires_at, then 401; revoking again without grace ends it at once', async () => {
    const tenant = await h.newTenant();
    const before = Date.now();
    const revoked = await h.admin('DELETE', `${keysOf(tenant.id)}/${(await h.admin('GET', keysOf(tenant.id))).body.data[0].id}?grace=2s`);
    expect(revoked.status).toBe(200);
    const expiresAt = Date.parse(revoked.body.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 1_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3_000);
    expect(await works(tenant.apiKey)).toBe(true);
    await expect.poll(() => works(tenant.apiKey), { timeout: 10_000, interval: 200 }).toBe(false);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 1_000); // not before its end (clock skew between Node and PostgreSQL aside)

    const other = await h.admin('POST', keysOf(tenant.id));
    await h.admin('DELETE', `${keysOf(tenant.id)}/${other.body.id}?grace=24h`);
    expect(await works(other.body.key)).toBe(true);
    const now = await h.admin('DELETE', `${keysOf(tenant.id)}/${other.body.id}`);
    expect(Date.parse(now.body.expires_at)).toBeLessThan(Date.now() + 1_000);
    expect(await works(other.body.key)).toBe(false);
  });

  it('bad grace 400; unknown tenant or key 404; another tenant’s key id 404; tenant keys get 403 on these routes', async () => {
    const tenant = await h.newTenant();
    const other = await h.newTenant();
    const otherKeyId = (await h.admin('GET', keysOf(other.id))).body.data[0].id as string;
    const keyId = (await h.admin('GET', keysOf(tenant.id))).body.data[0].id as string;
    expect((await h.admin('DELETE', `${keysOf(tenant.id)}/${keyId}?grace=forever`)).body.error).toMatchObject({ code: 'parameter_invalid', param: 'grace' });
    expect((await h.admin('DELETE', `${keysOf(tenant.id)}/${keyId}?grace=31d`)).status).toBe(400);
    expect((await h.admin('GET', keysOf('tnt_missing'))).status).toBe(404);
    expect((await h.admin('POST', keysOf('tnt_missing'))).status).toBe(404);
    expect((await h.admin('DELETE', `${keysOf(tenant.id)}/${otherKeyId}`)).status).toBe(404);
    expect(await works(other.apiKey)).toBe(true);
    for (const [method, path] of [['GET', keysOf(tenant.id)], ['POST', keysOf(tenant.id)], ['DELETE', `${keysOf(tenant.id)}/${keyId}`]] as const) {
      const res = await tenant.call(method, path);
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ type: 'permission_error', code: 'forbidden' });
    }
    expect(await works(tenant.apiKey)).toBe(true);
  });

  it('records last_used_at (at most once a minute) and names the key in c.get(auth)', async () => {
    const tenant = await h.newTenant();
    const lastUsed = async () => (await h.pool.query('SELECT id, last_used_at FROM api_keys WHERE tenant_id = $1', [tenant.id])).rows[0];
    expect((await lastUsed()).last_used_at).toBeNull();
    await works(tenant.apiKey);
    await expect.poll(async () => (await lastUsed()).last_used_at, { timeout: 5_000 }).not.toBeNull();
    const first = (await lastUsed()).last_used_at as Date;
    await works(tenant.apiKey);
    await new Promise((r) => setTimeout(r, 200));
    expect((await lastUsed()).last_used_at).toEqual(first);
  });
});
