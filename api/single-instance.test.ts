import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheFromConfig, type Cache } from '../platform/cache/index.js';
import type { Config } from '../platform/config.js';
import { findIdempotencyRecord } from '../store/idempotency/idempotency-keys.js';
import { ADMIN_KEY, startHarness, type Harness } from '../test/harness.js';
import { createApp } from './app.js';

/**
 * Single-instance mode (issue #17): the API built without Redis (`redis: null`), on the run's real
 * PostgreSQL and Temporal. The harness's Redis connection only looks, to show that nothing of this
 * app ever reaches Redis.
 */
let h: Harness;
let config: Config;
let app: ReturnType<typeof createApp>;
/** A second app of the same process, with a cache of its own on the same prefix (what another cache of the process would be). */
let cacheB: Cache;
let appB: ReturnType<typeof createApp>;
const POLICY = 'single_instance_test';
const created: string[] = [];

beforeAll(async () => {
  const prefix = `test:single:${randomUUID()}`;
  h = await startHarness({
    worker: false,
    env: {
      CACHE_KEY_PREFIX: prefix,
      RATE_LIMIT_POLICIES: JSON.stringify({ [POLICY]: { algorithm: 'fixed_window', limit: 3, window: '60s' } }),
      RATE_LIMIT_ROUTES: JSON.stringify([{ method: 'GET', path: '/v1/accounts/:id', policies: [POLICY] }]),
    },
  });
  config = { ...h.config, REDIS_URL: undefined, REDIS_MODE: 'none' };
  app = createApp({ config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: null, temporal: h.temporal });
  cacheB = createCacheFromConfig(null, config, () => undefined);
  appB = createApp({ config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: null, temporal: h.temporal, cache: cacheB });
});
afterAll(async () => {
  if (created.length) await h.pool.query('DELETE FROM products WHERE id = ANY($1)', [created]);
  cacheB?.close();
  await h?.close();
});

async function call(on: typeof app, key: string, method: string, path: string, options: { body?: unknown; idempotencyKey?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const res = await on.request(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : null };
}

describe('single-instance mode (no Redis)', () => {
  it('/readyz answers 200 and says single-instance: Redis disabled, not down', async () => {
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok', mode: 'single-instance', down: [], degraded: [],
      checks: { postgres: 'ok', temporal: 'ok', redis: 'disabled', rate_limiter: 'ok' },
    });
  });

  it('rate limits are enforced in process: 429 after the limit, per key, nothing in Redis', async () => {
    const tenant = await h.newTenant('Single-instance limits');
    const other = await h.newTenant('Single-instance limits, other key');
    const account = (await call(app, tenant.apiKey, 'POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' } })).body.id as string;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(app, tenant.apiKey, 'GET', `/v1/accounts/${account}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await call(app, tenant.apiKey, 'GET', `/v1/accounts/${account}`);
    expect(refused.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Per key: another tenant's key has its own budget (its GET is 404, not 429).
    expect((await call(app, other.apiKey, 'GET', `/v1/accounts/${account}`)).status).toBe(404);
    expect(await h.redis.keys(`rl:${POLICY}:*`)).toEqual([]);
  });

  it('an idempotent POST runs once and replays the same answer from PostgreSQL alone (10 at once, then later)', async () => {
    const tenant = await h.newTenant('Single-instance idempotency');
    const key = `single-${randomUUID()}`;
    const body = { type: 'merchant', currency: 'EUR', metadata: { run: key } };
    const post = () => call(app, tenant.apiKey, 'POST', '/v1/accounts', { body, idempotencyKey: key });
    const together = await Promise.all(Array.from({ length: 10 }, post));
    expect(together.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(together.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    expect(new Set(together.map((r) => r.text)).size).toBe(1);
    const later = await post();
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    expect(later.text).toBe(together[0]!.text);
    expect((await call(app, tenant.apiKey, 'POST', '/v1/accounts', { body: { ...body, currency: 'USD' }, idempotencyKey: key })).status).toBe(422);
    const { rows } = await h.pool.query<{ n: string }>(`SELECT count(*) AS n FROM accounts WHERE tenant_id = $1 AND type = 'merchant'`, [tenant.id]);
    expect(Number(rows[0]!.n)).toBe(1);
    expect(await findIdempotencyRecord(h.pool, tenant.id, key)).toMatchObject({ status: 'done' });
    expect(await h.redis.keys(`idem:*:${key}`)).toEqual([]);
  });

  it('the cache is L1 only, and an invalidation reaches every cache of the process at once', async () => {
    const tenant = await h.newTenant('Single-instance cache');
    const id = `prod_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    await h.pool.query(`INSERT INTO products (id, type, name, terms) VALUES ($1, 'card', 'Test product', '{"apr_percent": "9.9"}')`, [id]);
    created.push(id);
    expect((await call(appB, tenant.apiKey, 'GET', `/v1/products/${id}`)).body.name).toBe('Test product');
    expect(cacheB.l1Size).toBeGreaterThan(0);
    // B answers from its L1: a change behind the cache's back is not seen …
    await h.pool.query(`UPDATE products SET name = 'Changed in SQL' WHERE id = $1`, [id]);
    expect((await call(appB, tenant.apiKey, 'GET', `/v1/products/${id}`)).body.name).toBe('Test product');
    // … until an update through the other app invalidates it: no Redis, no waiting.
    expect((await call(app, ADMIN_KEY, 'PUT', `/v1/admin/products/${id}`, { body: { name: 'Updated in process' } })).status).toBe(200);
    expect((await call(appB, tenant.apiKey, 'GET', `/v1/products/${id}`)).body).toMatchObject({ name: 'Updated in process', version: 2 });
    expect(await h.redis.keys(`${config.CACHE_KEY_PREFIX}:*`)).toEqual([]);
  });
});
