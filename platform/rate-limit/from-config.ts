import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, type Config } from '../config.js';
import { createRateLimiter, type RateLimiter } from './limiter.js';
import { toPolicy, type Policy } from './policy.js';

/** Every API key's policy, and the per-IP policy of requests without a valid key. */
export const DEFAULT_POLICY = 'default';
export const UNAUTHENTICATED_POLICY = 'unauthenticated';

/**
 * The limiter's own connection: with no offline queue and no per-request retries a command fails
 * at once while Redis is away (instead of queueing), so a decision never waits longer than the
 * limiter's timeout; ioredis keeps reconnecting (every ≤ 1 s) and the limiter uses Redis again as
 * soon as it is back. No auto-pipelining: the socket already coalesces the writes of concurrent
 * decisions, and `npm run bench:ratelimit` measured auto-pipelining 10-20 % slower here.
 */
export const LIMITER_CONNECTION_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  enableAutoPipelining: false,
  lazyConnect: false,
  connectTimeout: 2_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
};

/** Opens a connection for a limiter: to `url`, else to the same server as `like`. */
export function openLimiterConnection(url: string | undefined, like: Redis | undefined): Redis {
  if (!url && !like) throw new Error('openLimiterConnection needs a URL or a connection to copy');
  const redis = url ? new Redis(url, LIMITER_CONNECTION_OPTIONS) : like!.duplicate(LIMITER_CONNECTION_OPTIONS);
  // Failures are reported by the limiter's health (/readyz) and its transitions in the log.
  redis.on('error', () => undefined);
  return redis;
}

/** The API's policies: `default`, `unauthenticated` and RATE_LIMIT_POLICIES (which may redefine either). */
export function apiPolicies(config: Config): Policy[] {
  const configs = {
    [DEFAULT_POLICY]: config.RATE_LIMIT_DEFAULT,
    [UNAUTHENTICATED_POLICY]: config.RATE_LIMIT_UNAUTHENTICATED,
    ...config.RATE_LIMIT_POLICIES,
  };
  for (const route of config.RATE_LIMIT_ROUTES) {
    const unknown = route.policies.find((name) => !(name in configs));
    if (unknown) throw new ConfigError(`Invalid environment:\n  RATE_LIMIT_ROUTES: policy ${unknown} is not in RATE_LIMIT_POLICIES`);
  }
  return Object.entries(configs).map(([name, policy]) => toPolicy(name, policy));
}

/**
 * The API's limiter on a connection of its own (RATE_LIMIT_REDIS_URL, else the server of
 * `redis`); `close()` closes that connection. `redis` null (single-instance mode): limits in
 * process, no connection.
 *
 * @example const rateLimiter = createApiRateLimiter(config, { redis }); … await rateLimiter.close();
 */
export function createApiRateLimiter(
  config: Config,
  deps: { redis: Redis | null; clock?: () => number; keyPrefix?: string },
): RateLimiter {
  const policies = apiPolicies(config);
  if (!deps.redis) {
    return createRateLimiter({ redis: null, policies, timeoutMs: config.RATE_LIMIT_REDIS_TIMEOUT_MS, fallbackMaxKeys: config.RATE_LIMIT_FALLBACK_MAX_KEYS, clock: deps.clock });
  }
  const connection = openLimiterConnection(config.RATE_LIMIT_REDIS_URL, deps.redis);
  return createRateLimiter({
    redis: connection,
    policies,
    timeoutMs: config.RATE_LIMIT_REDIS_TIMEOUT_MS,
    fallbackMaxKeys: config.RATE_LIMIT_FALLBACK_MAX_KEYS,
    clock: deps.clock,
    keyPrefix: deps.keyPrefix,
    onClose: async () => {
      await connection.quit().catch(() => connection.disconnect());
    },
  });
}
