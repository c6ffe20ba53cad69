import { z } from 'zod';
import { durationFromEnv, intFromEnv } from './env.js';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** A duration (see `durationFromEnv`) with bounds, so a typo cannot make a cache keep data for a year. */
const boundedDuration = (def: string, minMs: number, maxMs: number) =>
  durationFromEnv(def).pipe(z.number().int().min(minMs).max(maxMs));

/**
 * Multi-level cache (issue #6): L1 bounds, per-kind TTL and grace, the FX provider. Spread into the
 * one schema in platform/config.ts. What may be cached at all is not configuration: it is the
 * `CacheKind` allow-list in platform/cache/kinds.ts.
 */
export const cacheEnv = {
  /** Redis keys and the invalidation channel start with this (tests give each run its own). */
  CACHE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,100}$/).default('steadfast:cache'),
  /** In-process L1: at most this many entries (LRU), each kept at most CACHE_L1_TTL_MAX. */
  CACHE_L1_MAX_ENTRIES: intFromEnv(10_000, 1, 1_000_000),
  CACHE_L1_TTL_MAX: boundedDuration('60s', 100, DAY_MS),
  /** Exchange rates: fresh this long; served stale up to FX_RATES_GRACE more when the provider fails. */
  FX_RATES_TTL: boundedDuration('60s', 100, DAY_MS),
  FX_RATES_GRACE: boundedDuration('5m', 0, DAY_MS),
  /** Products are invalidated on update; the TTL only bounds how long a lost invalidation could last. */
  PRODUCTS_CACHE_TTL: boundedDuration('10m', 100, DAY_MS),
  PRODUCTS_CACHE_GRACE: boundedDuration('1h', 0, DAY_MS),
  USER_PROFILE_CACHE_TTL: boundedDuration('5m', 100, DAY_MS),
  USER_PROFILE_CACHE_GRACE: boundedDuration('0s', 0, DAY_MS),
  /**
   * Notification preferences are invalidated on every write; the TTL bounds how long an invalidation
   * lost with Redis could leave an opt-out unseen, so it is capped at an hour. No grace by default: a
   * plan or attempt that cannot read PostgreSQL fails anyway.
   */
  PREFERENCES_CACHE_TTL: boundedDuration('1m', 100, 60 * MINUTE_MS),
  PREFERENCES_CACHE_GRACE: boundedDuration('0s', 0, 60 * MINUTE_MS),
  /** The FX rates provider (simulated by simulators/processors under /fx) and how long one call may take. */
  FX_PROVIDER_URL: z.string().url().default('http://127.0.0.1:4010/fx'),
  FX_PROVIDER_TIMEOUT_MS: intFromEnv(2_000, 50, 60_000),
};
