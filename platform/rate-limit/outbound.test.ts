import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openLimiterConnection } from './from-config.js';
import { createOutboundLimiter, OutboundRateLimited, type OutboundLimiter } from './outbound.js';
import { policiesSchema } from './policy.js';

let now = 1_700_000_000_000;
const slept: number[] = [];
let base: Redis;
let redis: Redis;
let prefix: string;
let outbound: OutboundLimiter;

beforeAll(async () => {
  base = new Redis(inject('redisUrl'), { lazyConnect: true });
  redis = openLimiterConnection(undefined, base);
  prefix = `test-out-${randomUUID()}`;
  outbound = createOutboundLimiter({
    redis,
    policies: policiesSchema.parse({ sms: { algorithm: 'gcra', rate: 50, period: '1s' }, push: { algorithm: 'fixed_window', limit: 2, window: '1m' } }),
    maxWaitMs: 100,
    clock: () => now,
    // A sleep that only moves the test's clock: the waits are exact and instant.
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    keyPrefix: prefix,
  });
  await new Promise((resolve) => (redis.status === 'ready' ? resolve(null) : redis.once('ready', resolve)));
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await outbound.close();
  redis.disconnect();
  base.disconnect();
});

describe('outbound limits', () => {
  it('spaces calls at the provider rate, waiting for the slot the script names', async () => {
    const start = now;
    for (let i = 0; i < 4; i++) await outbound.acquire('sms');
    expect(slept).toEqual([20, 20, 20]);
    expect(now - start).toBe(60);
  });

  it('throws a typed error with the wait when the slot is beyond the bound', async () => {
    await outbound.acquire('push');
    await outbound.acquire('push');
    const err = await outbound.acquire('push').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundRateLimited);
    expect(err).toMatchObject({ provider: 'push', reason: 'limited', code: 'outbound_rate_limited' });
    expect((err as OutboundRateLimited).retryAfterMs).toBeGreaterThan(100);
    expect((err as OutboundRateLimited).retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('a provider without a configured limit is not limited', async () => {
    expect(outbound.limits('email')).toBe(false);
    for (let i = 0; i < 100; i++) await outbound.acquire('email');
  });
});
