import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import type { Cache } from './cache.js';
import { CACHE_KINDS, CacheKeyError, assertCacheKey, cachePolicies, keyString, kindOf, type CacheKey } from './kinds.js';

/** Compiled by `tsc`, never run: each line must fail to type-check, or the build fails. */
export function forbiddenKindsDoNotCompile(cache: Cache): void {
  // @ts-expect-error balances are money: never cached
  void cache.get({ kind: 'account_balance', id: 'acct_1' }, async () => 100);
  // @ts-expect-error payment states change under the cache's feet
  void cache.get({ kind: 'payment', id: 'pay_1' }, async () => ({ status: 'captured' }));
  // @ts-expect-error auth data is never cached
  void cache.invalidate({ kind: 'api_key', digest: 'abc' });
  // @ts-expect-error a kind without its key parts
  void cache.get({ kind: 'product' }, async () => null);
}

describe('cache kinds: an allow-list enforced in code', () => {
  it('refuses any other kind at run time too (untyped callers)', () => {
    for (const kind of ['account_balance', 'balance', 'transaction', 'payment', 'api_key', 'fraud_flag', '', 'product_list:x']) {
      expect(() => assertCacheKey({ kind, id: 'x' })).toThrow(CacheKeyError);
    }
    expect(() => assertCacheKey(null)).toThrow(CacheKeyError);
    expect(() => assertCacheKey('product:1')).toThrow(CacheKeyError);
  });

  it('validates key parts, so keys cannot collide or nest', () => {
    expect(() => assertCacheKey({ kind: 'product', id: 'a:b' })).toThrow(/product\.id/);
    expect(() => assertCacheKey({ kind: 'product', id: '' })).toThrow(CacheKeyError);
    expect(() => assertCacheKey({ kind: 'fx_rates', base: 'x'.repeat(101) })).toThrow(CacheKeyError);
    expect(() => assertCacheKey({ kind: 'user_profile', tenantId: 'tnt_1' })).toThrow(/userId/);
  });

  it('names keys by kind first', () => {
    const keys: CacheKey[] = [
      { kind: 'fx_rates', base: 'USD' },
      { kind: 'product', id: 'prod_card_classic' },
      { kind: 'product_list' },
      { kind: 'user_profile', tenantId: 'tnt_1', userId: 'usr_2' },
      { kind: 'notification_preferences', tenantId: 'tnt_1', userId: 'usr_2' },
    ];
    expect(keys.map(keyString)).toEqual([
      'fx_rates:USD', 'product:prod_card_classic', 'product_list', 'user_profile:tnt_1:usr_2',
      'notification_preferences:tnt_1:1P-bZqY3A5xnJpSywdShTTITKvfFc_WdLQ7ap1k1Zxk',
    ]);
    expect(keys.map((k) => kindOf(keyString(k)))).toEqual(CACHE_KINDS);
  });

  it('keys preferences by a digest of the user id: any id (colons, spaces, 255 characters) is one key of its own', () => {
    const key = (userId: unknown) => keyString({ kind: 'notification_preferences', tenantId: 'tnt_1', userId } as CacheKey);
    const ids = ['a:b', 'a', 'b', 'émile dupont', 'x'.repeat(255), '1P-bZqY3A5xnJpSywdShTTITKvfFc_WdLQ7ap1k1Zxk'];
    const keys = ids.map(key);
    expect(new Set(keys).size).toBe(ids.length);
    for (const text of keys) expect(text).toMatch(/^notification_preferences:tnt_1:[A-Za-z0-9_-]{43}$/);
    expect(() => key('')).toThrow(CacheKeyError);
    expect(() => key('x'.repeat(256))).toThrow(CacheKeyError);
    expect(() => key(42)).toThrow(CacheKeyError);
    expect(() => assertCacheKey({ kind: 'notification_preferences', tenantId: 'a:b', userId: 'u' })).toThrow(/tenantId/);
  });

  it('has a policy for every kind, from the configuration', () => {
    const policies = cachePolicies(loadConfig({ FX_RATES_TTL: '30s', FX_RATES_GRACE: '2m' }));
    expect(Object.keys(policies).sort()).toEqual([...CACHE_KINDS].sort());
    expect(policies.fx_rates).toMatchObject({ ttlMs: 30_000, graceMs: 120_000 });
    expect(() => loadConfig({ FX_RATES_TTL: '3d' })).toThrow(/FX_RATES_TTL/);
    expect(() => loadConfig({ CACHE_L1_MAX_ENTRIES: '0' })).toThrow(/CACHE_L1_MAX_ENTRIES/);
  });
});
