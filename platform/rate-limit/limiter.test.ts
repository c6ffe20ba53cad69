import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { metrics } from '../metrics.js';
import { apiPolicies, openLimiterConnection } from './from-config.js';
import { rateLimitHeaders } from './headers.js';
import { createRateLimiter, type RateLimiter } from './limiter.js';
import { policySchema, toPolicy } from './policy.js';

const T0 = 1_700_000_000_000;
let now = T0;
const policy = (name: string, json: Record<string, unknown>) => toPolicy(name, policySchema.parse(json));

describe('configuration', () => {
  it('has the contract default and reads policies and route groups from JSON', () => {
    const config = loadConfig({
      RATE_LIMIT_POLICIES: '{"payments_create":{"algorithm":"sliding_window","limit":20,"window":"1s","failure_mode":"closed"}}',
      RATE_LIMIT_ROUTES: '[{"method":"POST","path":"/v1/payments","policies":["payments_create"]}]',
    });
    expect(config).toMatchObject({ RATE_LIMIT_ENABLED: true, RATE_LIMIT_REDIS_TIMEOUT_MS: 100, TRUST_PROXY: 0 });
    expect(apiPolicies(config)).toEqual([
      { name: 'default', algorithm: 'token_bucket', rate: 100, periodMs: 1_000, burst: 200, failureMode: 'open' },
      { name: 'unauthenticated', algorithm: 'token_bucket', rate: 1, periodMs: 1_000, burst: 20, failureMode: 'open' },
      { name: 'payments_create', algorithm: 'sliding_window', rate: 20, periodMs: 1_000, burst: 20, failureMode: 'closed' },
    ]);
  });

  it('fails at start naming the variable', () => {
    expect(() => loadConfig({ RATE_LIMIT_DEFAULT: '{"algorithm":"token_bucket","rate":0}' })).toThrow(/RATE_LIMIT_DEFAULT/);
    expect(() => loadConfig({ RATE_LIMIT_POLICIES: '{"x":{"algorithm":"fixed_window","limit":5,"windw":"1s"}}' })).toThrow(/RATE_LIMIT_POLICIES/);
    expect(() => loadConfig({ RATE_LIMIT_POLICIES: '{"x":{"algorithm":"sliding_window","limit":10001}}' })).toThrow(/RATE_LIMIT_POLICIES/);
    expect(() => loadConfig({ RATE_LIMIT_ROUTES: '[{"path":"/payments","policies":["x"]}]' })).toThrow(/RATE_LIMIT_ROUTES/);
    expect(() => loadConfig({ RATE_LIMIT_REDIS_TIMEOUT_MS: '60000' })).toThrow(/RATE_LIMIT_REDIS_TIMEOUT_MS/);
    expect(() => apiPolicies(loadConfig({ RATE_LIMIT_ROUTES: '[{"path":"/v1/payments","policies":["nope"]}]' }))).toThrow(/RATE_LIMIT_ROUTES/);
  });
});

describe('headers', () => {
  it('IETF draft fields for every consumed policy, legacy fields for the tightest, Retry-After rounded up', () => {
    const tb = policy('default', { algorithm: 'token_bucket', rate: 100, period: '1s', burst: 200 });
    const sw = policy('payments_create', { algorithm: 'sliding_window', limit: 20, window: '1m' });
    const ip = policy('unauthenticated', { algorithm: 'token_bucket', rate: 1, period: '1s', burst: 20 });
    const verdict = { subject: 's', allowed: true, retryAfterMs: 0, peek: false };
    expect(rateLimitHeaders({
      allowed: true, outcome: 'allowed', retryAfterMs: 0,
      verdicts: [
        { ...verdict, policy: tb, remaining: 57, resetMs: 1_430 },
        { ...verdict, policy: sw, remaining: 3, resetMs: 59_001 },
        { ...verdict, policy: ip, remaining: 0, resetMs: 20_000, peek: true },
      ],
    })).toEqual({
      'RateLimit-Policy': '"default";q=200;w=2, "payments_create";q=20;w=60',
      RateLimit: '"default";r=57;t=2, "payments_create";r=3;t=60',
      'X-RateLimit-Limit': '20',
      'X-RateLimit-Remaining': '3',
      'X-RateLimit-Reset': '60',
    });
    expect(rateLimitHeaders({
      allowed: false, outcome: 'limited', retryAfterMs: 1_001,
      verdicts: [{ ...verdict, policy: tb, allowed: false, remaining: 0, resetMs: 2_000, retryAfterMs: 1_001 }],
    })).toMatchObject({ 'Retry-After': '2', RateLimit: '"default";r=0;t=2' });
  });
});

describe('while Redis cannot answer', () => {
  // Long, so that "nobody waited for Redis" is a wide margin: a request that waited would take this long.
  const REDIS_TIMEOUT_MS = 2_000;
  let base: Redis;
  let dead: Redis;
  let limiter: RateLimiter;
  const logs: string[] = [];

  beforeAll(() => {
    base = new Redis('redis://127.0.0.1:1', { lazyConnect: true });
    dead = openLimiterConnection(undefined, base);
    limiter = createRateLimiter({
      redis: dead,
      timeoutMs: REDIS_TIMEOUT_MS,
      clock: () => now,
      keyPrefix: `test-${randomUUID()}`,
      log: (m) => logs.push(m),
      policies: [
        policy('open', { algorithm: 'sliding_window', limit: 3, window: '1s' }),
        policy('closed', { algorithm: 'gcra', rate: 10, period: '1s', failure_mode: 'closed' }),
      ],
    });
  });
  afterAll(() => {
    dead.disconnect();
    base.disconnect();
  });

  it('fail-open policies are still bounded, by an in-process bucket of the same numbers', async () => {
    const before = await metrics.rateLimitDecisions.get();
    const count = (outcome: string) => before.values.find((v) => v.labels.policy === 'open' && v.labels.outcome === outcome)?.value ?? 0;
    const started = performance.now();
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push((await limiter.check([{ policy: 'open', subject: 'a' }])).outcome);
    expect(performance.now() - started).toBeLessThan(REDIS_TIMEOUT_MS); // no request waited for Redis (one that did takes the whole timeout)
    expect(outcomes).toEqual(['fail_open', 'fail_open', 'fail_open', 'fallback_limited', 'fallback_limited']);
    // 3 per second as a bucket: one more every 333⅓ ms.
    expect((await limiter.check([{ policy: 'open', subject: 'a' }])).retryAfterMs).toBe(334);
    now = T0 + 334;
    expect(await limiter.check([{ policy: 'open', subject: 'a' }])).toMatchObject({ allowed: true, outcome: 'fail_open' });
    expect(await limiter.check([{ policy: 'open', subject: 'b' }])).toMatchObject({ allowed: true, verdicts: [{ remaining: 2 }] });

    const after = await metrics.rateLimitDecisions.get();
    const counted = (outcome: string) => (after.values.find((v) => v.labels.policy === 'open' && v.labels.outcome === outcome)?.value ?? 0) - count(outcome);
    expect([counted('fail_open'), counted('fallback_limited')]).toEqual([5, 3]);
    expect(limiter.health()).toMatchObject({ state: 'degraded' });
    expect(logs.filter((l) => l.includes('Redis unavailable'))).toHaveLength(1);
  });

  it('a fail-closed policy refuses the whole request, even next to fail-open ones', async () => {
    const d = await limiter.check([{ policy: 'open', subject: 'c' }, { policy: 'closed', subject: 'c' }]);
    expect(d).toMatchObject({ allowed: false, outcome: 'fail_closed', retryAfterMs: 1_000 });
  });
});

describe('single-instance mode (no Redis)', () => {
  it('limits in process with the policy’s numbers: `allowed` then `limited` (not a fallback), health ok, per subject', async () => {
    let clock = T0;
    const limiter = createRateLimiter({
      redis: null, timeoutMs: 100, clock: () => clock,
      // `failure_mode: closed` would refuse everything were this a Redis outage: here there is no outage.
      policies: [policy('fw', { algorithm: 'fixed_window', limit: 2, window: '10s', failure_mode: 'closed' })],
    });
    await limiter.ready(10);
    const check = (subject = 'key:a') => limiter.check([{ policy: 'fw', subject }]);
    expect((await check()).outcome).toBe('allowed');
    expect((await check()).outcome).toBe('allowed');
    const refused = await check();
    expect(refused).toMatchObject({ allowed: false, outcome: 'limited' });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect((await check('key:b')).outcome).toBe('allowed');
    const many = await limiter.checkMany([[{ policy: 'fw', subject: 'key:c' }], [{ policy: 'fw', subject: 'key:a' }]]);
    expect(many.map((d) => d.outcome)).toEqual(['allowed', 'limited']);
    clock += refused.retryAfterMs;
    expect((await check()).outcome).toBe('allowed');
    expect(limiter.health()).toEqual({ state: 'ok' });
    await limiter.close();
  });
});
