import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCacheFromConfig, type Cache } from '../../platform/cache/index.js';
import { eventually } from '../../test/eventually.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';

/**
 * Two API instances on the same PostgreSQL and Redis, each with its own cache (L1 and subscriber):
 * instance A is the harness's app, instance B another `createApp` with a Redis connection of its own.
 */
let h: Harness;
let redisB: Redis;
let cacheB: Cache;
let appB: ReturnType<typeof createApp>;
let tenantKey: string;
const created: string[] = [];

beforeAll(async () => {
  h = await startHarness({ worker: false, env: { CACHE_KEY_PREFIX: `test:products:${randomUUID()}` } });
  redisB = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  cacheB = createCacheFromConfig(redisB, h.config, () => undefined);
  appB = createApp({ config: h.config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: redisB, temporal: h.temporal, cache: cacheB });
  await cacheB.whenBusUp();
  tenantKey = (await h.newTenant('Products')).apiKey;
});
afterAll(async () => {
  if (created.length) await h.pool.query('DELETE FROM products WHERE id = ANY($1)', [created]);
  cacheB?.close();
  redisB?.disconnect();
  await h?.close();
});

async function onB(path: string) {
  const res = await appB.request(path, { headers: { authorization: `Bearer ${tenantKey}` } });
  return { status: res.status, body: (await res.json()) as any };
}

/** A product of this test alone (the seeded ones are shared with other test files). */
async function newProduct(type: 'card' | 'loan' = 'card'): Promise<string> {
  const id = `prod_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await h.pool.query(`INSERT INTO products (id, type, name, terms) VALUES ($1, $2, 'Test product', '{"apr_percent": "9.9"}')`, [id, type]);
  created.push(id);
  return id;
}

const put = (id: string, body: unknown, key = ADMIN_KEY) => h.as(key)('PUT', `/v1/admin/products/${id}`, { body });

describe('PUT /v1/admin/products/:id', () => {
  it('updates the product, bumps its version and answers it', async () => {
    const id = await newProduct();
    const res = await put(id, { name: 'Renamed', terms: { apr_percent: '12.5', annual_fee: { amount: 4900, currency: 'USD' } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id, object: 'product', type: 'card', name: 'Renamed', active: true, version: 2,
      terms: { apr_percent: '12.5', annual_fee: { amount: 4900, currency: 'USD' } },
    });
    const deactivated = await put(id, { active: false });
    expect(deactivated.body).toMatchObject({ name: 'Renamed', active: false, version: 3 });
  });

  it('invalidates the other instance’s L1 (the product and the list)', async () => {
    const id = await newProduct();
    expect((await onB(`/v1/products/${id}`)).body.name).toBe('Test product');
    expect((await onB('/v1/products?limit=100&type=card')).body.data.map((p: { id: string }) => p.id)).toContain(id);
    // A change behind the cache's back is not seen: B answers from its cache …
    await h.pool.query(`UPDATE products SET name = 'Changed in SQL' WHERE id = $1`, [id]);
    expect((await onB(`/v1/products/${id}`)).body.name).toBe('Test product');
    // … until an update through instance A invalidates it everywhere.
    expect((await put(id, { name: 'Updated through A' })).status).toBe(200);
    // The invalidation reaches B over pub/sub a moment later: poll.
    const seen = await eventually(() => onB(`/v1/products/${id}`), (res) => res.body.name === 'Updated through A', { intervalMs: 20 });
    expect(seen.body).toMatchObject({ name: 'Updated through A', version: 2 });
    const listed = (await onB('/v1/products?limit=100&type=card')).body.data.find((p: { id: string }) => p.id === id);
    expect(listed).toMatchObject({ name: 'Updated through A', version: 2 });
  });

  it('rejects unknown fields, floats and empty updates with 400, changing nothing', async () => {
    const id = await newProduct('loan');
    const cases: [unknown, string, string?][] = [
      [{ colour: 'red' }, 'parameter_unknown', 'colour'],
      [{ type: 'card' }, 'parameter_unknown', 'type'],
      [{ terms: { apr_percent: 9.9 } }, 'parameter_invalid'],
      [{ terms: { fee: { amount: 100, currency: 'usd' } } }, 'currency_invalid'],
      [{ name: '' }, 'parameter_invalid', 'name'],
      [{}, 'parameter_invalid'],
    ];
    for (const [body, code, param] of cases) {
      const res = await put(id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatchObject({ code, ...(param ? { param } : {}) });
    }
    const { rows } = await h.pool.query('SELECT name, version FROM products WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ name: 'Test product', version: 1 });
  });

  it('is for the admin key: a tenant key gets 403; an unknown product 404', async () => {
    const id = await newProduct();
    const asTenant = await put(id, { name: 'Hijacked' }, tenantKey);
    expect(asTenant.status).toBe(403);
    expect(asTenant.body.error).toMatchObject({ type: 'permission_error', code: 'forbidden' });
    expect((await h.as(null)('PUT', `/v1/admin/products/${id}`, { body: { name: 'x' } })).status).toBe(401);
    const missing = await put('prod_does_not_exist', { name: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'resource_missing' });
    expect((await h.admin('GET', `/v1/products/${id}`)).status).toBe(403); // the admin key is not a tenant
  });
});
