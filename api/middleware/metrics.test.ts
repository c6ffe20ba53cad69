import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_KEY, createAccount, startHarness, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, env: { CACHE_KEY_PREFIX: `test:metrics:${randomUUID()}` } });
});
afterAll(async () => {
  await h?.close();
});

async function scrape(key: string | null = ADMIN_KEY) {
  const res = await h.app.request('/metrics', { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** The value of one sample line, e.g. `steadfast_http_requests_total{method="GET",…}`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics', () => {
  it('renders Prometheus text for the admin key; 401 without a key; 403 for a tenant key', async () => {
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'steadfast_http_requests_total', 'steadfast_http_request_duration_seconds', 'steadfast_workflow_starts_total',
      'steadfast_cache_requests_total', 'steadfast_rate_limit_decisions_total', 'steadfast_outbox_lag_seconds',
      'steadfast_circuit_breaker_state', 'steadfast_process_cpu_seconds_total',
    ]) expect(ok.text).toContain(`# TYPE ${name} `);

    expect((await scrape(null)).status).toBe(401);
    expect((await scrape('sk_not_a_key')).status).toBe(401);
    const tenant = await h.newTenant();
    const forbidden = await scrape(tenant.apiKey);
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.text).error).toMatchObject({ code: 'forbidden' });
  });

  it('counts requests by route pattern (never the raw path) and status, with latencies', async () => {
    const tenant = await h.newTenant();
    const account = await createAccount(tenant.call);
    const before = sample((await scrape()).text, 'steadfast_http_requests_total', { method: 'GET', route: '/v1/accounts/:id', status: '200' }) ?? 0;
    for (let i = 0; i < 3; i++) expect((await tenant.call('GET', `/v1/accounts/${account}`)).status).toBe(200);
    await h.as(null)('GET', `/v1/accounts/${account}`); // 401, answered by the auth middleware
    await tenant.call('GET', `/v1/no-such-route/${account}`);

    const { text } = await scrape();
    expect(sample(text, 'steadfast_http_requests_total', { method: 'GET', route: '/v1/accounts/:id', status: '200' })).toBe(before + 3);
    expect(sample(text, 'steadfast_http_requests_total', { method: 'GET', route: '/v1/accounts/:id', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'steadfast_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'steadfast_http_request_duration_seconds_count', { method: 'GET', route: '/v1/accounts/:id' })).toBeGreaterThanOrEqual(before + 4);
    expect(text).not.toContain(account);
  });

  it('counts cache hits and misses per tier', async () => {
    const tenant = await h.newTenant();
    await tenant.call('GET', '/v1/products/prod_loan_auto');
    await tenant.call('GET', '/v1/products/prod_loan_auto');
    const { text } = await scrape();
    expect(sample(text, 'steadfast_cache_requests_total', { cache: 'product', tier: 'l1', result: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'steadfast_cache_requests_total', { cache: 'product', tier: 'l1', result: 'miss' })).toBeGreaterThanOrEqual(1);
    const l2 = /steadfast_cache_requests_total\{cache="product",tier="l2",result="(hit|miss)"\}/;
    // A run without Redis (single-instance mode) has no second tier.
    if (inject('redisUrl')) expect(text).toMatch(l2);
    else expect(text).not.toMatch(l2);
  });
});
