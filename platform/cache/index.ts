import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { createCache, type Cache, type CacheEvent } from './cache.js';
import { cachePolicies } from './kinds.js';

export { createCache, type Cache, type CacheEvent, type CacheOptions, type CacheTier } from './cache.js';
export { CACHE_KINDS, CacheKeyError, cachePolicies, type CacheKey, type CacheKind, type CachePolicies } from './kinds.js';

const L2_ERROR_LOG_INTERVAL_MS = 10_000;

/** Logs what an operator needs: bus state changes, stale answers, L2 errors (at most one per 10 s). */
function cacheLogger(): (event: CacheEvent) => void {
  let lastL2ErrorLogMs = 0;
  let down = false;
  return function logCacheEvent(event) {
    switch (event.type) {
      case 'bus':
        if (event.detail === 'closed') return;
        if (!event.up && !down) console.warn(`[cache] invalidation bus down, L1 bypassed: ${event.detail ?? ''}`);
        else if (event.up && down) console.warn('[cache] invalidation bus up again, L1 flushed');
        else if (event.detail) console.warn(`[cache] invalidation bus: ${event.detail}`);
        down = !event.up;
        return;
      case 'l1_flushed':
        return;
      case 'stale_served':
        console.warn(`[cache] served stale ${event.key} from ${event.tier}: loader failed: ${(event.error as Error).message}`);
        return;
      case 'l2_error':
        if (Date.now() - lastL2ErrorLogMs < L2_ERROR_LOG_INTERVAL_MS) return;
        lastL2ErrorLogMs = Date.now();
        console.warn(`[cache] L2 (Redis) unavailable, reading through: ${(event.error as Error).message}`);
        return;
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled cache event ${JSON.stringify(unhandled)}`);
      }
    }
  };
}

/**
 * The process's cache, from its configuration. It opens one Redis subscriber connection: the owner
 * must `close()` it at shutdown.
 *
 * @example const cache = createCacheFromConfig(redis, config); … cache.close();
 */
export function createCacheFromConfig(redis: Redis, config: Config, onEvent = cacheLogger()): Cache {
  return createCache({
    redis,
    policies: cachePolicies(config),
    keyPrefix: config.CACHE_KEY_PREFIX,
    l1: { maxEntries: config.CACHE_L1_MAX_ENTRIES, ttlMaxMs: config.CACHE_L1_TTL_MAX },
    onEvent,
  });
}

/**
 * A cache for an owner that does not close it itself (`createApp` without `deps.cache`): its
 * subscriber connection closes when `redis` ends (`quit()` or `disconnect()`).
 */
export function createCacheClosedWith(redis: Redis, config: Config): Cache {
  const cache = createCacheFromConfig(redis, config);
  redis.once('end', () => cache.close());
  return cache;
}
