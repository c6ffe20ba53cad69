import { createHash } from 'node:crypto';
import type { Config } from '../config.js';

/**
 * What may be cached, and nothing else. Money (balances, holds), transaction and payment states,
 * API keys and fraud data are not kinds, so no key for them can be written: `cache.get({ kind:
 * 'account_balance', … })` does not compile, and `assertCacheKey` refuses it at run time too
 * (keys built from untyped input, `as any`, JavaScript callers).
 *
 * Adding a kind is a reviewed decision: say in its policy why a stale copy is harmless.
 */
export const CACHE_KINDS = ['fx_rates', 'product', 'product_list', 'user_profile', 'notification_preferences'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

/** One key per kind; every part is validated (`KEY_PART`) so keys cannot collide or smuggle `:`. */
export type CacheKey =
  | { kind: 'fx_rates'; base: string }
  | { kind: 'product'; id: string }
  | { kind: 'product_list' }
  | { kind: 'user_profile'; tenantId: string; userId: string }
  /** `userId` is the tenant's own id for a person (any 1–255 characters): the key holds its SHA-256, not the id. */
  | { kind: 'notification_preferences'; tenantId: string; userId: string };

export interface KindPolicy {
  /** A cached value is fresh this long after it was loaded. */
  ttlMs: number;
  /** After the TTL, the last value may still be served this long, only when the loader fails. */
  graceMs: number;
  /** Why a stale copy is harmless, and what refreshes it. */
  why: string;
}

export type CachePolicies = Readonly<Record<CacheKind, KindPolicy>>;

/** The per-kind policy table; `Record<CacheKind, …>` makes a new kind without a policy a compile error. */
export function cachePolicies(config: Config): CachePolicies {
  return {
    fx_rates: {
      ttlMs: config.FX_RATES_TTL, graceMs: config.FX_RATES_GRACE,
      why: 'Indicative rates for display; a short TTL. No money moves at a cached rate.',
    },
    product: {
      ttlMs: config.PRODUCTS_CACHE_TTL, graceMs: config.PRODUCTS_CACHE_GRACE,
      why: 'Global reference data; PUT /v1/admin/products/:id invalidates it on every instance.',
    },
    product_list: {
      ttlMs: config.PRODUCTS_CACHE_TTL, graceMs: config.PRODUCTS_CACHE_GRACE,
      why: 'The catalogue; invalidated with any product update.',
    },
    user_profile: {
      ttlMs: config.USER_PROFILE_CACHE_TTL, graceMs: config.USER_PROFILE_CACHE_GRACE,
      why: 'Display data (names, locale); never balances, limits, keys or risk flags.',
    },
    notification_preferences: {
      ttlMs: config.PREFERENCES_CACHE_TTL, graceMs: config.PREFERENCES_CACHE_GRACE,
      why: 'Channel opt-outs and quiet hours, not money. Every write invalidates them on every instance after its '
        + 'commit; the TTL bounds an invalidation lost with Redis. Critical notifications and broadcasts never read them.',
    },
  };
}

export class CacheKeyError extends Error {
  override name = 'CacheKeyError';
}

const KEY_PART = /^[A-Za-z0-9_.-]{1,100}$/;
const KINDS: ReadonlySet<string> = new Set(CACHE_KINDS);

function part(key: Record<string, unknown>, field: string): string {
  const value = key[field];
  if (typeof value !== 'string' || !KEY_PART.test(value)) {
    throw new CacheKeyError(`cache key ${String(key.kind)}.${field} must match ${KEY_PART}`);
  }
  return value;
}

/** Ids that are not key parts (any text: `:`, spaces, 255 characters): their SHA-256, base64url (43 characters). */
function digestPart(key: Record<string, unknown>, field: string): string {
  const value = key[field];
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) {
    throw new CacheKeyError(`cache key ${String(key.kind)}.${field} must be 1 to 255 characters`);
  }
  return createHash('sha256').update(value).digest('base64url');
}

/** Refuses anything but an allow-listed kind with well-formed parts (a bug, never a user error). */
export function assertCacheKey(key: unknown): asserts key is CacheKey {
  checkedKeyString(key);
}

/** `keyString` of a key checked by `assertCacheKey` (one pass: the cache's hot path). */
export function checkedKeyString(key: unknown): string {
  if (key === null || typeof key !== 'object') throw new CacheKeyError('cache key must be an object');
  const kind = (key as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !KINDS.has(kind)) {
    throw new CacheKeyError(`"${String(kind)}" may not be cached (allowed: ${CACHE_KINDS.join(', ')})`);
  }
  return keyString(key as CacheKey);
}

/** The key's stable text form, `kind:part:…` (also its Redis key, after the prefix). */
export function keyString(key: CacheKey): string {
  const k = key as unknown as Record<string, unknown>;
  switch (key.kind) {
    case 'fx_rates':
      return `fx_rates:${part(k, 'base')}`;
    case 'product':
      return `product:${part(k, 'id')}`;
    case 'product_list':
      return 'product_list';
    case 'user_profile':
      return `user_profile:${part(k, 'tenantId')}:${part(k, 'userId')}`;
    case 'notification_preferences':
      return `notification_preferences:${part(k, 'tenantId')}:${digestPart(k, 'userId')}`;
    default: {
      const unknownKey: never = key;
      throw new CacheKeyError(`unknown cache kind ${JSON.stringify(unknownKey)}`);
    }
  }
}

/** The kind of a key string (metrics label); keys always start with their kind. */
export function kindOf(keyText: string): CacheKind {
  const kind = keyText.split(':', 1)[0] ?? '';
  if (!KINDS.has(kind)) throw new CacheKeyError(`not a cache key: ${keyText}`);
  return kind as CacheKind;
}
