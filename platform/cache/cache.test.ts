import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { eventually } from '../../test/eventually.js';
import { metricsRegistry } from '../metrics.js';
import { createCache, type Cache, type CacheEvent, type CacheOptions } from './cache.js';
import { CacheKeyError, type CachePolicies } from './kinds.js';

let redis: Redis;
const opened: Cache[] = [];
const policy = (ttlMs: number, graceMs: number) => ({ ttlMs, graceMs, why: 'test' });
const POLICIES: CachePolicies = {
  fx_rates: policy(300, 700),
  product: policy(60_000, 0),
  product_list: policy(60_000, 0),
  user_profile: policy(60_000, 0),
  notification_preferences: policy(60_000, 0),
};

beforeAll(() => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
});
afterEach(() => {
  for (const cache of opened.splice(0)) cache.close();
});
afterAll(() => redis.disconnect());

/** A cache instance (as one API process would have), on its own key prefix unless one is given. */
async function instance(overrides: Partial<CacheOptions> = {}): Promise<Cache> {
  const cache = createCache({
    redis, policies: POLICIES, keyPrefix: `test:cache:${randomUUID()}`, l1: { maxEntries: 1_000, ttlMaxMs: 60_000 }, ...overrides,
  });
  opened.push(cache);
  await cache.whenBusUp();
  return cache;
}

/** A loader that counts its calls and answers `value()` after `delayMs`. */
function counter<T>(value: () => T, delayMs = 0) {
  const load = async () => {
    load.calls++;
    if (delayMs) await sleep(delayMs);
    return value();
  };
  load.calls = 0;
  return load;
}

async function cacheCount(kind: string, tier: string, result: string): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('steadfast_cache_requests_total')!.get();
  return metric.values.find((v) => v.labels.cache === kind && v.labels.tier === tier && v.labels.result === result)?.value ?? 0;
}

describe('cache: tiers', () => {
  it('loads once, then answers from L1; another instance answers from L2', async () => {
    const keyPrefix = `test:cache:${randomUUID()}`;
    const [a, b] = [await instance({ keyPrefix }), await instance({ keyPrefix })];
    const load = counter(() => ({ name: 'Classic', terms: { apr: '19.99' } }));
    const l1Hits = await cacheCount('product', 'l1', 'hit');
    const l2Hits = await cacheCount('product', 'l2', 'hit');

    expect(await a.get({ kind: 'product', id: 'p1' }, load)).toEqual({ name: 'Classic', terms: { apr: '19.99' } });
    expect(await a.get({ kind: 'product', id: 'p1' }, load)).toEqual({ name: 'Classic', terms: { apr: '19.99' } });
    expect(await b.get({ kind: 'product', id: 'p1' }, load)).toEqual({ name: 'Classic', terms: { apr: '19.99' } });
    expect(load.calls).toBe(1);
    expect(await cacheCount('product', 'l1', 'hit')).toBe(l1Hits + 1);
    expect(await cacheCount('product', 'l2', 'hit')).toBe(l2Hits + 1);
  });

  it('hands out frozen JSON copies: the same shape from every tier', async () => {
    const cache = await instance();
    const value = await cache.get({ kind: 'product', id: 'p2' }, async () => ({ at: new Date(0), n: 1 }));
    expect(value).toEqual({ at: '1970-01-01T00:00:00.000Z', n: 1 });
    expect(() => {
      (value as { n: number }).n = 2;
    }).toThrow(TypeError);
  });

  it('null is not cached', async () => {
    const cache = await instance();
    const load = counter(() => null);
    expect(await cache.get({ kind: 'product', id: 'missing' }, load)).toBeNull();
    expect(await cache.get({ kind: 'product', id: 'missing' }, load)).toBeNull();
    expect(load.calls).toBe(2);
  });

  it('refuses a forbidden kind at run time, before touching Redis', async () => {
    const cache = await instance();
    const load = counter(() => 100);
    await expect(cache.get({ kind: 'account_balance', id: 'acct_1' } as never, load)).rejects.toThrow(CacheKeyError);
    await expect(cache.invalidate({ kind: 'payment_state', id: 'pay_1' } as never)).rejects.toThrow(CacheKeyError);
    expect(load.calls).toBe(0);
  });

  it('keeps L1 bounded (LRU)', async () => {
    const cache = await instance({ l1: { maxEntries: 3, ttlMaxMs: 60_000 } });
    for (let i = 0; i < 10; i++) await cache.get({ kind: 'product', id: `p${i}` }, async () => i);
    expect(cache.l1Size).toBe(3);
  });
});

describe('cache: stampede protection', () => {
  it('100 concurrent reads of a cold key call the loader once per instance', async () => {
    const keyPrefix = `test:cache:${randomUUID()}`;
    const [a, b] = [await instance({ keyPrefix }), await instance({ keyPrefix })];
    const loadA = counter(() => 'rates', 100);
    const loadB = counter(() => 'rates', 100);
    const key = { kind: 'fx_rates', base: 'USD' } as const;
    const results = await Promise.all([
      ...Array.from({ length: 100 }, () => a.get(key, loadA)),
      ...Array.from({ length: 100 }, () => b.get(key, loadB)),
    ]);
    expect(results.every((r) => r === 'rates')).toBe(true);
    expect([loadA.calls, loadB.calls]).toEqual([1, 1]);
  });

  it('a failing load fails every waiting reader once, and the next read tries again', async () => {
    const cache = await instance();
    let calls = 0;
    const failing = async () => {
      calls++;
      await sleep(20);
      throw new Error('provider down');
    };
    const reads = await Promise.allSettled(Array.from({ length: 20 }, () => cache.get({ kind: 'fx_rates', base: 'EUR' }, failing)));
    expect(reads.every((r) => r.status === 'rejected')).toBe(true);
    expect(calls).toBe(1);
    await expect(cache.get({ kind: 'fx_rates', base: 'EUR' }, async () => 'ok')).resolves.toBe('ok');
  });
});

describe('cache: grace', () => {
  // Real time (the cache reads Date.now(), Redis expires L2 on its own clock), so no step may depend on
  // being quick: each waits for a condition (polled), and each window it checks is wide.
  const fx = (ttlMs: number, graceMs: number) => ({ policies: { ...POLICIES, fx_rates: policy(ttlMs, graceMs) } });
  const failing = () => counter<string>(() => {
    throw new Error('provider down');
  });

  it('serves the stale value within grace when the loader fails', async () => {
    const events: CacheEvent[] = [];
    const cache = await instance({ ...fx(200, 60_000), onEvent: (e) => events.push(e) });
    const key = { kind: 'fx_rates', base: 'GBP' } as const;
    const fail = failing();
    expect(await cache.get(key, async () => 'v1')).toBe('v1');
    // Fresh: answered without the loader. Once stale (200 ms), the loader is asked, fails, and the
    // stale value is served: for the next minute, far longer than any pause of a slow machine.
    const answer = await eventually(() => cache.get(key, fail), () => fail.calls > 0, { intervalMs: 20 });
    expect(answer).toBe('v1');
    expect(events).toContainEqual(expect.objectContaining({ type: 'stale_served', key: 'fx_rates:GBP', tier: 'l1' }));
    expect(await cache.get(key, fail)).toBe('v1');
    expect(fail.calls).toBe(2);
  });

  it('beyond ttl + grace the loader’s error is the answer', async () => {
    const cache = await instance(fx(100, 200));
    const key = { kind: 'fx_rates', base: 'CHF' } as const;
    const fail = failing();
    const storedAt = Date.now();
    expect(await cache.get(key, async () => 'v1')).toBe('v1');
    const answers: string[] = [];
    const read = () => cache.get(key, fail).then((value) => {
      answers.push(String(value));
      return 'answered';
    }, (error: Error) => error.message);
    expect(await eventually(read, (outcome) => outcome !== 'answered', { intervalMs: 20 })).toBe('provider down');
    expect(Date.now() - storedAt).toBeGreaterThanOrEqual(300 - 2); // not before ttl + grace (2 ms: clock granularity) …
    expect(new Set(answers)).toEqual(new Set(['v1'])); // … and until then the value, fresh and then stale
  });

  it('a fresh load after a stale answer replaces the stale value', async () => {
    const keyPrefix = `test:cache:${randomUUID()}`;
    const cache = await instance({ ...fx(200, 60_000), keyPrefix });
    const key = { kind: 'fx_rates', base: 'JPY' } as const;
    await cache.get(key, async () => 'v1');
    const load = counter(() => 'v2');
    expect(await eventually(() => cache.get(key, load), () => load.calls > 0, { intervalMs: 20 })).toBe('v2');
    // v1 is gone from every tier: even with the provider down, v2 (fresh or within its grace) is the answer.
    expect(await cache.get(key, failing())).toBe('v2');
    expect(await (await instance({ ...fx(200, 60_000), keyPrefix })).get(key, failing())).toBe('v2');
  });
});

describe('cache: invalidation', () => {
  it('an invalidation through one instance drops the other instance’s L1', async () => {
    const keyPrefix = `test:cache:${randomUUID()}`;
    const [a, b] = [await instance({ keyPrefix }), await instance({ keyPrefix })];
    let version = 1;
    const load = () => Promise.resolve({ version });
    const key = { kind: 'product', id: 'p1' } as const;
    expect(await b.get(key, load)).toEqual({ version: 1 });
    version = 2;
    expect(await b.get(key, load)).toEqual({ version: 1 }); // L1
    await a.invalidate(key);
    // Pub/sub takes a moment: poll (before the invalidation, b kept answering from L1, as checked above).
    expect(await eventually(() => b.get(key, load), (seen) => seen?.version === 2, { intervalMs: 10 })).toEqual({ version: 2 });
  });

  it('a load that began before an invalidation cannot put the old value back', async () => {
    const keyPrefix = `test:cache:${randomUUID()}`;
    const [a, b] = [await instance({ keyPrefix }), await instance({ keyPrefix })];
    const key = { kind: 'product', id: 'p1' } as const;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let loading = false;
    // b reads the old row, then stalls (as if slow) while a commits an update and invalidates.
    const slow = b.get(key, async () => {
      loading = true;
      await gate;
      return { version: 1 };
    });
    await eventually(() => loading, (started) => started, { intervalMs: 5 });
    await a.invalidate(key);
    release();
    expect(await slow).toEqual({ version: 1 }); // its caller got what it read …
    const fresh = counter(() => ({ version: 2 }));
    expect(await a.get(key, fresh)).toEqual({ version: 2 }); // … but neither L2 …
    expect(await b.get(key, fresh)).toEqual({ version: 2 }); // … nor b's L1 kept it.
  });
});

describe('cache: the invalidation bus', () => {
  /** The id of this cache instance's subscriber connection (killing every pub/sub client of the shared Redis would hit other tests). */
  async function subscriberId(cache: Cache): Promise<string> {
    const list = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const line = list.split('\n').find((l) => l.includes(` name=${cache.busConnectionName} `));
    const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
    if (!id) throw new Error(`subscriber ${cache.busConnectionName} not found`);
    return id;
  }

  it('after the subscriber reconnects, L1 is flushed (invalidations may have been missed)', async () => {
    const events: CacheEvent[] = [];
    const keyPrefix = `test:cache:${randomUUID()}`;
    const cache = await instance({ keyPrefix, onEvent: (e) => events.push(e) });
    const key = { kind: 'product', id: 'p1' } as const;
    expect(await cache.get(key, async () => 'old')).toBe('old');
    // An update whose message this instance never gets: L2 is already invalidated, L1 still holds 'old'.
    await redis.del(`${keyPrefix}:v:product:p1`);
    expect(await cache.get(key, async () => 'new')).toBe('old');

    await redis.call('CLIENT', 'KILL', 'ID', await subscriberId(cache));
    await expect.poll(() => events.some((e) => e.type === 'bus' && !e.up), { timeout: 2_000 }).toBe(true);
    await cache.whenBusUp();
    const flushes = events.filter((e) => e.type === 'l1_flushed').map((e) => (e as { reason: string }).reason);
    expect(flushes).toEqual(expect.arrayContaining(['disconnected', 'subscribed']));
    expect(await cache.get(key, async () => 'new')).toBe('new');
  });

  it('while the subscriber is down, L1 is neither read nor filled', async () => {
    const cache = await instance();
    const key = { kind: 'product', id: 'p9' } as const;
    await cache.get(key, async () => 'v1');
    expect(cache.l1Size).toBe(1);
    await redis.call('CLIENT', 'KILL', 'ID', await subscriberId(cache));
    await expect.poll(() => cache.busUp, { timeout: 2_000 }).toBe(false);
    expect(cache.l1Size).toBe(0);
    await cache.whenBusUp();
  });
});

describe('cache: single-instance mode (no Redis)', () => {
  it('L1 only: loads once; an invalidation reaches the caches of this process on the same prefix, not others; close() unsubscribes', async () => {
    const keyPrefix = `test:cache:${randomUUID()}`;
    const [a, b] = [await instance({ redis: null, keyPrefix }), await instance({ redis: null, keyPrefix })];
    const elsewhere = await instance({ redis: null });
    const key = { kind: 'product', id: 'prod_single' } as const;
    let name = 'Classic';
    const load = counter(() => ({ name }));
    for (const cache of [a, b, elsewhere]) expect(await cache.get(key, load)).toEqual({ name: 'Classic' });
    expect(await b.get(key, load)).toEqual({ name: 'Classic' });
    expect(load.calls).toBe(3); // one per cache: no L2 to share
    expect(a.busUp && b.busUp).toBe(true);
    name = 'Renamed';
    await a.invalidate(key);
    expect(await b.get(key, load)).toEqual({ name: 'Renamed' }); // at once, no bus to wait for
    expect(await a.get(key, load)).toEqual({ name: 'Renamed' });
    expect(await elsewhere.get(key, load)).toEqual({ name: 'Classic' }); // another prefix: its own channel
    b.close();
    expect(b.busUp).toBe(false);
    name = 'Again';
    await a.invalidate(key); // b is gone from the channel: nothing throws
    expect(await a.get(key, load)).toEqual({ name: 'Again' });
    expect(await redis.keys(`${keyPrefix}:*`)).toEqual([]);
  });
});
