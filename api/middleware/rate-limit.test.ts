import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiRateLimiter, type RateLimiter } from '../../platform/rate-limit/index.js';
import { ADMIN_KEY, createAccount, startHarness, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';

/**
 * The limiter through the HTTP API, on a clock the test moves by hand (it starts at the real time
 * and only moves forward, so Redis key expiry, which runs on real time, never comes first).
 */
const env = {
  TRUST_PROXY: '1',
  RATE_LIMIT_DEFAULT: JSON.stringify({ algorithm: 'token_bucket', rate: 2, period: '3s', burst: 3 }),
  RATE_LIMIT_UNAUTHENTICATED: JSON.stringify({ algorithm: 'token_bucket', rate: 1, period: '1s', burst: 3 }),
  RATE_LIMIT_POLICIES: JSON.stringify({ accounts_create: { algorithm: 'sliding_window', limit: 2, window: '10s' } }),
  RATE_LIMIT_ROUTES: JSON.stringify([{ method: 'POST', path: '/v1/accounts', policies: ['accounts_create'] }]),
};

let h: Harness;
let now = Date.now();
const limiters: RateLimiter[] = [];

beforeAll(async () => {
  h = await startHarness({ worker: false, env });
});
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  await h?.close();
});

/** An API instance with its own limiter (own Redis connection) on the test's clock. */
async function instance(keyPrefix: string, config = h.config) {
  const rateLimiter = createApiRateLimiter(config, { redis: h.redis, clock: () => now, keyPrefix });
  limiters.push(rateLimiter);
  await rateLimiter.ready();
  return createApp({ config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal, rateLimiter });
}

type App = Awaited<ReturnType<typeof instance>>;

async function call(app: App, key: string | null, method: string, path: string, options: { ip: string; body?: unknown }) {
  // TRUST_PROXY=1: the rightmost entry is the client; what the client wrote before it is ignored.
  const headers: Record<string, string> = { 'x-forwarded-for': `10.9.9.9, ${options.ip}` };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await app.request(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

const rateHeaders = (res: { headers: Headers }) =>
  Object.fromEntries(['ratelimit-policy', 'ratelimit', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after']
    .map((name) => [name, res.headers.get(name)]));

const randomIp = () => `2001:db8:${randomUUID().slice(0, 4)}:${randomUUID().slice(0, 4)}::1`;

describe('API rate limits', () => {
  it('headers on allowed responses; 429 with the contract body and an exact Retry-After', async () => {
    const app = await instance(`test-rl-${randomUUID()}`);
    const tenant = await h.newTenant();
    const ip = randomIp();
    const create = () => call(app, tenant.apiKey, 'POST', '/v1/accounts', { ip, body: { type: 'user', currency: 'USD' } });

    const first = await create();
    expect(first.status).toBe(201);
    expect(rateHeaders(first)).toEqual({
      'ratelimit-policy': '"default";q=3;w=5, "accounts_create";q=2;w=10',
      ratelimit: '"default";r=2;t=2, "accounts_create";r=1;t=10',
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '1',
      'x-ratelimit-reset': '10',
      'retry-after': null,
    });
    expect((await create()).headers.get('ratelimit')).toBe('"default";r=1;t=3, "accounts_create";r=0;t=10');

    const refused = await create();
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: { type: 'rate_limit_error', code: 'rate_limited', message: 'Rate limit "accounts_create" exceeded; retry after 10 s.' },
    });
    expect(refused.headers.get('retry-after')).toBe('10');

    // The refused POST took nothing from `default`: one request is left for a GET.
    const get = () => call(app, tenant.apiKey, 'GET', `/v1/accounts/${first.body.id}`, { ip });
    const last = await get();
    expect(last.status).toBe(200);
    expect(rateHeaders(last)).toMatchObject({ 'ratelimit-policy': '"default";q=3;w=5', ratelimit: '"default";r=0;t=5' });
    // Empty: the next token comes 1500 ms later (2 per 3 s): Retry-After rounds up to 2 s, then 1 s.
    expect(rateHeaders(await get())).toMatchObject({ 'retry-after': '2', ratelimit: '"default";r=0;t=5' });
    now += 1_499;
    const almost = await get();
    expect([almost.status, almost.headers.get('retry-after')]).toEqual([429, '1']);
    now += 1;
    expect((await get()).status).toBe(200);
  });

  it('requests with a bad or missing key are limited per client IP; a valid key from that IP is never refused for them', async () => {
    const app = await instance(`test-rl-${randomUUID()}`);
    const tenant = await h.newTenant();
    const account = await createAccount(tenant.call); // through the harness's own app: this limiter's budgets stay untouched
    const [guesser, other] = [randomIp(), randomIp()];
    const guess = (ip: string) => call(app, `sk_guess_${randomUUID()}`, 'GET', `/v1/accounts/${account}`, { ip });
    const valid = (ip: string) => call(app, tenant.apiKey, 'GET', `/v1/accounts/${account}`, { ip });

    const guesses = [];
    for (let i = 0; i < 3; i++) guesses.push(await guess(guesser));
    expect(guesses.map((r) => [r.status, r.headers.get('ratelimit')])).toEqual([
      [401, '"unauthenticated";r=2;t=1'], [401, '"unauthenticated";r=1;t=2'], [401, '"unauthenticated";r=0;t=3'],
    ]);
    const blocked = await guess(guesser);
    expect([blocked.status, blocked.body.error.code, blocked.headers.get('retry-after'), blocked.body.error.message]).toEqual([
      429, 'rate_limited', '1', 'Too many requests with a missing or invalid API key from this address; retry after 1 s.',
    ]);
    expect((await call(app, null, 'GET', '/v1/accounts/acct_x', { ip: guesser })).status).toBe(429);

    // The IP's bad-key budget is spent; a valid key from it still gets its answer (a NAT or a proxy
    // shares an address: a guesser there must not lock everyone else out), under its own limits only.
    const served = await valid(guesser);
    expect([served.status, served.body.id, served.headers.get('ratelimit')]).toEqual([200, account, '"default";r=2;t=2']);
    expect((await valid(other)).status).toBe(200);
    expect((await guess(other)).status).toBe(401);

    now += 1_000; // one failure comes back to the guesser's IP: valid requests did not spend it
    expect((await guess(guesser)).status).toBe(401);
    expect((await guess(guesser)).status).toBe(429);
    expect((await valid(guesser)).status).toBe(200);
  });

  it('/metrics is behind the same limiter: bad keys count against the IP, the admin key spends its default policy', async () => {
    const app = await instance(`test-rl-${randomUUID()}`);
    const ip = randomIp();
    const scrape = (key: string | null) => app.request('/metrics', {
      headers: { 'x-forwarded-for': ip, ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
    });
    const bad = [];
    for (let i = 0; i < 3; i++) bad.push(await scrape(`sk_guess_${randomUUID()}`));
    expect(bad.map((r) => [r.status, r.headers.get('ratelimit')])).toEqual([
      [401, '"unauthenticated";r=2;t=1'], [401, '"unauthenticated";r=1;t=2'], [401, '"unauthenticated";r=0;t=3'],
    ]);
    expect((await scrape(null)).status).toBe(429);
    const scrapes = [];
    for (let i = 0; i < 4; i++) scrapes.push(await scrape(ADMIN_KEY));
    expect(scrapes.map((r) => [r.status, r.headers.get('ratelimit')])).toEqual([
      [200, '"default";r=2;t=2'], [200, '"default";r=1;t=3'], [200, '"default";r=0;t=5'], [429, '"default";r=0;t=5'],
    ]);
    expect((await scrape((await h.newTenant()).apiKey)).status).toBe(403); // a tenant key: the handler's answer, not counted
  });

  it('two API instances on one Redis enforce one limit together', async () => {
    const keyPrefix = `test-rl-${randomUUID()}`;
    const [a, b] = [await instance(keyPrefix), await instance(keyPrefix)];
    const tenant = await h.newTenant();
    const ip = randomIp();
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(i % 2 ? b : a, tenant.apiKey, 'GET', '/v1/accounts/acct_x', { ip })).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429, 429]);
  });

  it('the admin key is limited too; /readyz reports the limiter', async () => {
    const app = await instance(`test-rl-${randomUUID()}`);
    const res = await call(app, ADMIN_KEY, 'GET', '/v1/ops/nothing-here', { ip: randomIp() });
    expect([res.status, res.headers.get('ratelimit')]).toEqual([404, '"default";r=2;t=2']);
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', degraded: [], checks: { rate_limiter: 'ok' } });
  });

  it('RATE_LIMIT_ENABLED=false: no limiter, no headers', async () => {
    const config = { ...h.config, RATE_LIMIT_ENABLED: false };
    const app = createApp({ config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal });
    const tenant = await h.newTenant();
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(app, tenant.apiKey, 'GET', '/v1/accounts/acct_x', { ip: randomIp() });
      expect(res.headers.get('ratelimit')).toBeNull();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404]);
    expect(await (await app.request('/readyz')).json()).toMatchObject({ checks: { rate_limiter: 'disabled' } });
  });
});
