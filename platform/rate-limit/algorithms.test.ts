import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createRateLimiter, type RateLimiter } from './limiter.js';
import { policySchema, toPolicy } from './policy.js';
import { openLimiterConnection } from './from-config.js';

/**
 * Each algorithm's edges against the real Redis, on a clock the test moves by hand. Redis expires the
 * buckets on ITS clock (PEXPIRE, real time) while the decisions follow the test's: so every policy
 * here has a 100 s period, and a bucket lives at least 10 s of real time, far longer than a loaded
 * machine (two runs on one Redis) can stall between two steps of a test. Edges stay exact to the ms.
 */

const T0 = 1_700_000_000_000; // a multiple of every window below
const W = 100_000; // every policy's period / window, ms
const TB = W / 10; // one token of the token and leaky buckets (10 per period)
let now = T0;
let redis: Redis;
let base: Redis;
let limiter: RateLimiter;
let prefix: string;

const policy = (name: string, json: Record<string, unknown>) => toPolicy(name, policySchema.parse(json));

beforeAll(async () => {
  base = new Redis(inject('redisUrl'), { lazyConnect: true });
  redis = openLimiterConnection(undefined, base);
  prefix = `test-rl-${randomUUID()}`;
  limiter = createRateLimiter({
    redis,
    timeoutMs: 2_000,
    clock: () => now,
    keyPrefix: prefix,
    policies: [
      policy('tb', { algorithm: 'token_bucket', rate: 10, period: '100s', burst: 5 }),
      policy('fw', { algorithm: 'fixed_window', limit: 5, window: '100s' }),
      policy('sw', { algorithm: 'sliding_window', limit: 5, window: '100s' }),
      policy('lb', { algorithm: 'leaky_bucket', rate: 10, period: '100s' }),
      policy('lb3', { algorithm: 'leaky_bucket', rate: 10, period: '100s', burst: 3 }),
      policy('gcra', { algorithm: 'gcra', rate: 3, period: '100s', burst: 2 }),
      policy('gcra1', { algorithm: 'gcra', rate: 3, period: '100s' }),
    ],
  });
  await limiter.ready();
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  base.disconnect();
});

let subject: string;
beforeEach(() => {
  now = T0;
  subject = randomUUID();
});

const hit = (name: string) => limiter.check([{ policy: name, subject }]);

/** Sends one request at each offset (ms from T0, ascending) and returns those that were allowed. */
async function at(name: string, offsets: number[]): Promise<number[]> {
  const allowed: number[] = [];
  for (const t of offsets) {
    now = T0 + t;
    if ((await hit(name)).allowed) allowed.push(t);
  }
  return allowed;
}

/** Each expected time and the ms just before it. */
const edges = (times: number[]) => times.flatMap((t) => (t > 0 ? [t - 1, t] : [t]));

describe('token bucket (10 per 100 s, burst 5)', () => {
  it('allows the burst at once, then one token per 10 s, never more than the burst', async () => {
    for (let i = 4; i >= 0; i--) {
      const d = await hit('tb');
      expect(d).toMatchObject({ allowed: true, outcome: 'allowed' });
      expect(d.verdicts[0]).toMatchObject({ remaining: i, resetMs: (5 - i) * TB });
    }
    expect(await hit('tb')).toMatchObject({ allowed: false, outcome: 'limited', retryAfterMs: TB });
    now = T0 + TB - 1;
    expect((await hit('tb')).retryAfterMs).toBe(1);
    now = T0 + TB;
    expect(await hit('tb')).toMatchObject({ allowed: true, verdicts: [{ remaining: 0 }] });
    now = T0 + 100 * W; // a long idle refills to the burst, not beyond
    for (let i = 0; i < 5; i++) expect((await hit('tb')).allowed).toBe(true);
    expect((await hit('tb')).allowed).toBe(false);
  });

  it('its key expires when the bucket would be full again', async () => {
    await hit('tb');
    await hit('tb');
    const ttl = await redis.pttl(`${prefix}:tb:token_bucket:${subject}`);
    // Two tokens short: full again in 20 s (real time has passed since, but not 10 s of it).
    expect(ttl).toBeGreaterThan(2 * TB - 10_000);
    expect(ttl).toBeLessThanOrEqual(2 * TB);
  });
});

describe('fixed window (5 per 100 s)', () => {
  it('allows a double burst across the window boundary (by design)', async () => {
    now = T0 + W / 2;
    for (let i = 0; i < 5; i++) expect((await hit('fw')).allowed).toBe(true);
    expect(await hit('fw')).toMatchObject({ allowed: false, retryAfterMs: W / 2 });
    now = T0 + W;
    const boundary = [];
    for (let i = 0; i < 6; i++) boundary.push((await hit('fw')).allowed);
    expect(boundary).toEqual([true, true, true, true, true, false]); // 10 within half a window
    expect((await hit('fw')).retryAfterMs).toBe(W);
  });
});

describe('sliding window log (5 per 100 s)', () => {
  it('refuses the boundary burst: never more than 5 in any window', async () => {
    now = T0 + W - 1;
    for (let i = 0; i < 5; i++) expect((await hit('sw')).allowed).toBe(true);
    now = T0 + W;
    expect(await hit('sw')).toMatchObject({ allowed: false, retryAfterMs: W - 1 });
    now = T0 + 2 * W - 2;
    expect(await hit('sw')).toMatchObject({ allowed: false, retryAfterMs: 1 });
    now = T0 + 2 * W - 1;
    for (let i = 0; i < 5; i++) expect((await hit('sw')).allowed).toBe(true);
    expect((await hit('sw')).allowed).toBe(false);
  });

  it('frees each slot exactly one window after its request', async () => {
    expect((await hit('sw')).allowed).toBe(true); // t=0
    now = T0 + W / 2;
    for (let i = 0; i < 4; i++) expect((await hit('sw')).allowed).toBe(true);
    now = T0 + W - 1;
    expect(await hit('sw')).toMatchObject({ allowed: false, retryAfterMs: 1 });
    now = T0 + W;
    expect(await hit('sw')).toMatchObject({ allowed: true, verdicts: [{ remaining: 0, resetMs: W }] });
    expect(await hit('sw')).toMatchObject({ allowed: false, retryAfterMs: W / 2 });
  });
});

describe('leaky bucket as a meter (10 per 100 s)', () => {
  it('with capacity 1, spaces requests exactly 10 s apart', async () => {
    const spaced = Array.from({ length: 11 }, (_, i) => i * TB);
    expect(await at('lb', edges(spaced))).toEqual(spaced);
  });

  it('with capacity 3, takes 3 at once, then drains one per 10 s', async () => {
    const first = [];
    for (let i = 0; i < 4; i++) first.push((await hit('lb3')).allowed);
    expect(first).toEqual([true, true, true, false]);
    expect((await hit('lb3')).retryAfterMs).toBe(TB);
    expect(await at('lb3', [1, TB / 2, ...edges([TB, 2 * TB, 3 * TB]), 3.5 * TB])).toEqual([TB, 2 * TB, 3 * TB]);
  });
});

describe('GCRA (3 per 100 s: an emission interval of 33 333⅓ ms)', () => {
  it('allows a burst of 2, then one request per interval, rounded to the ms', async () => {
    expect((await hit('gcra')).allowed).toBe(true);
    expect(await hit('gcra')).toMatchObject({ allowed: true, verdicts: [{ remaining: 0, resetMs: 66_667 }] });
    expect(await hit('gcra')).toMatchObject({ allowed: false, retryAfterMs: 33_334 });
    now = T0 + 33_333;
    expect(await hit('gcra')).toMatchObject({ allowed: false, retryAfterMs: 1 });
    now = T0 + 33_334;
    expect((await hit('gcra')).allowed).toBe(true);
  });

  it('keeps the fractional interval exactly: one request per 33 333⅓ ms over 3 periods, no drift', async () => {
    expect((await hit('gcra')).allowed).toBe(true);
    expect((await hit('gcra')).allowed).toBe(true);
    const slots = [33_334, 66_667, 100_000, 133_334, 166_667, 200_000, 233_334, 266_667, 300_000];
    expect(await at('gcra', edges(slots))).toEqual(slots);
  });

  it('with burst 1 there is no tolerance: a late request moves the schedule', async () => {
    expect(await at('gcra1', edges([0, 33_334, 66_668, 100_002]))).toEqual([0, 33_334, 66_668, 100_002]);
  });
});

describe('several policies in one call', () => {
  it('answers with each policy’s verdict and the longest retry', async () => {
    const both = () => limiter.check([{ policy: 'tb', subject }, { policy: 'fw', subject }]);
    for (let i = 0; i < 5; i++) expect((await both()).allowed).toBe(true);
    const refused = await both();
    expect(refused).toMatchObject({ allowed: false, outcome: 'limited', retryAfterMs: W });
    expect(refused.verdicts.map((v) => [v.policy.name, v.allowed, v.remaining, v.retryAfterMs])).toEqual([['tb', false, 0, TB], ['fw', false, 0, W]]);
  });

  it('a refusal leaves the allowing policies untouched', async () => {
    now = T0 + W / 2;
    for (let i = 0; i < 5; i++) await limiter.check([{ policy: 'fw', subject }]);
    for (let i = 0; i < 3; i++) {
      expect((await limiter.check([{ policy: 'tb', subject }, { policy: 'fw', subject }])).allowed).toBe(false);
    }
    expect(await limiter.check([{ policy: 'tb', subject }])).toMatchObject({ allowed: true, verdicts: [{ remaining: 4 }] });
  });

  it('checkMany decides independent requests in one pipeline, each all-or-nothing on its own', async () => {
    const other = randomUUID();
    const decisions = await limiter.checkMany([
      [{ policy: 'fw', subject }], [{ policy: 'fw', subject }, { policy: 'sw', subject: other }], [{ policy: 'tb', subject: other }],
    ]);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true]);
    const more = await limiter.checkMany(Array.from({ length: 5 }, () => [{ policy: 'fw', subject }, { policy: 'tb', subject: other }]));
    expect(more.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    // The two refused requests took nothing from the token bucket: 5 - 1 - 3 = 1 left.
    expect(await limiter.check([{ policy: 'tb', subject: other }])).toMatchObject({ allowed: true, verdicts: [{ remaining: 0 }] });
  });

  it('a peek checks without consuming', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await limiter.check([{ policy: 'tb', subject, peek: true }])).toMatchObject({ allowed: true, verdicts: [{ remaining: 5 }] });
    }
    const d = await limiter.check([{ policy: 'fw', subject }, { policy: 'tb', subject, peek: true }]);
    expect(d.verdicts.map((v) => [v.policy.name, v.remaining])).toEqual([['fw', 4], ['tb', 5]]);
  });
});
