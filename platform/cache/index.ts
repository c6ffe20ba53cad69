import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { createCache, type Cache, type CacheEvent } from './cache.js';
import { cachePolicies } from './kinds.js';
import { childLogger, scrubText } from '../log.js';

export { createCache, type Cache, type CacheEvent, type CacheOptions, type CacheTier } from './cache.js';
export { CACHE_KINDS, CacheKeyError, cachePolicies, type CacheKey, type CacheKind, type CachePolicies } from './kinds.js';

const L2_ERROR_LOG_INTERVAL_MS = 10_000;

/** Logs what an operator needs: bus state changes, stale answers, L2 errors (at most one per 10 s). */
function cacheLogger(): (event: CacheEvent) => void {
  const log = childLogger({ component: 'cache' });
  let lastL2ErrorLogMs = 0;
  let down = false;
  return function logCacheEvent(event) {
    switch (event.type) {
      case 'bus':
        if (event.detail === 'closed') return;
        if (!event.up && !down) log.warn({ detail: event.detail }, 'invalidation bus down, L1 bypassed');
        else if (event.up && down) log.warn('invalidation bus up again, L1 flushed');
        else if (event.detail) log.warn({ detail: event.detail }, 'invalidation bus');
        down = !event.up;
        return;
      case 'l1_flushed':
        return;
      case 'stale_served':
        // A user profile's key holds the client's user id: scrubbed like free text.
        log.warn({ key: scrubText(event.key), tier: event.tier, err: event.error }, 'served stale: the loader failed');
        return;
      case 'l2_error':
        if (Date.now() - lastL2ErrorLogMs < L2_ERROR_LOG_INTERVAL_MS) return;
        lastL2ErrorLogMs = Date.now();
        log.warn({ err: event.error }, 'L2 (Redis) unavailable, reading through');
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
 * must `close()` it at shutdown. `redis` null (single-instance mode): L1 only, invalidations
 * within the process.
 *
 * @example const cache = createCacheFromConfig(redis, config); … cache.close();
 */
export function createCacheFromConfig(redis: Redis | null, config: Config, onEvent = cacheLogger()): Cache {
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
 * subscriber connection closes when `redis` ends (`quit()` or `disconnect()`). Without Redis it
 * holds no connection, only its subscription to the process's in-process channel.
 */
export function createCacheClosedWith(redis: Redis | null, config: Config): Cache {
  const cache = createCacheFromConfig(redis, config);
  redis?.once('end', () => cache.close());
  return cache;
}
