import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { redisUrlOf, type RedisMode } from '../redis-mode.js';
import { openLimiterConnection } from './from-config.js';
import { createRateLimiter, type RateLimiter } from './limiter.js';
import { toPolicy, type PolicyConfig } from './policy.js';

/** No outbound slot within the wait bound: retry the call after `retryAfterMs` (a retryable failure). */
export class OutboundRateLimited extends Error {
  override name = 'OutboundRateLimited';
  readonly code = 'outbound_rate_limited';
  constructor(
    readonly provider: string,
    readonly retryAfterMs: number,
    /** `limited`: the provider's limit is used up; `unavailable`: Redis is down and the policy fails closed. */
    readonly reason: 'limited' | 'unavailable',
  ) {
    super(`${provider}: outbound rate limit ${reason === 'limited' ? 'reached' : 'unavailable'}; retry after ${retryAfterMs} ms`);
  }
}

export interface OutboundLimiter {
  /**
   * Takes one slot of `provider`'s limit, waiting up to `maxWaitMs` for it; throws
   * `OutboundRateLimited` when none comes within the bound. A provider without a configured
   * limit is not limited.
   */
  acquire(provider: string, options?: { maxWaitMs?: number; cost?: number }): Promise<void>;
  /** Whether `provider` has a configured limit. */
  limits(provider: string): boolean;
  close(): Promise<void>;
}

export interface OutboundLimiterOptions {
  /**
   * A connection for limiters (see `openLimiterConnection`); the caller owns it unless `onClose`
   * closes it. null: single-instance mode, the limits are this process's.
   */
  redis: Redis | null;
  /** Per provider, e.g. `{ sms: { algorithm: 'gcra', rate: 50, period: 1000, failure_mode: 'open' } }` (parsed config). */
  policies: Record<string, PolicyConfig>;
  maxWaitMs: number;
  timeoutMs?: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  keyPrefix?: string;
  onClose?: () => Promise<void>;
}

const OUTBOUND_SUBJECT = 'outbound';
const OUTBOUND_TIMEOUT_MS = 100;

/**
 * Limits this system's calls to outside providers (SMS, push, processors), shared by every worker
 * through the same Redis scripts as the API limits. A refused `acquire` sleeps until the slot
 * the script names (its exact retry time) and tries again, until the wait bound.
 *
 * @example
 * const outbound = createOutboundLimiterFromConfig(config, { redis });
 * await outbound.acquire('sms'); // then call the SMS provider
 */
export function createOutboundLimiter(options: OutboundLimiterOptions): OutboundLimiter {
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const limiter: RateLimiter = createRateLimiter({
    redis: options.redis,
    policies: Object.entries(options.policies).map(([name, policy]) => toPolicy(name, policy)),
    timeoutMs: options.timeoutMs ?? OUTBOUND_TIMEOUT_MS,
    clock,
    keyPrefix: options.keyPrefix ?? 'rl-out',
    onClose: options.onClose,
  });

  return {
    limits: (provider) => limiter.policies.has(provider),
    async acquire(provider, acquireOptions = {}) {
      if (!limiter.policies.has(provider)) return;
      const deadline = clock() + (acquireOptions.maxWaitMs ?? options.maxWaitMs);
      for (;;) {
        const decision = await limiter.check([{ policy: provider, subject: OUTBOUND_SUBJECT, cost: acquireOptions.cost }]);
        if (decision.allowed) return;
        const waitMs = Math.max(1, decision.retryAfterMs);
        if (clock() + waitMs > deadline) {
          throw new OutboundRateLimited(provider, waitMs, decision.outcome === 'fail_closed' ? 'unavailable' : 'limited');
        }
        await sleep(waitMs);
      }
    },
    close: () => limiter.close(),
  };
}

const UNLIMITED: OutboundLimiter = { acquire: async () => undefined, limits: () => false, close: async () => undefined };

/**
 * The outbound limiter of OUTBOUND_RATE_LIMITS, on a connection of its own that `close()` closes:
 * to the server of `deps.redis`, else RATE_LIMIT_REDIS_URL, else `deps.redisMode`'s (the process's
 * start-up decision; `none`: limits in process, no connection), else REDIS_URL or the default.
 */
export function createOutboundLimiterFromConfig(config: Config, deps: { redis?: Redis; redisMode?: RedisMode } = {}): OutboundLimiter {
  // Nothing to limit: no connection (the default, and most test processes).
  if (Object.keys(config.OUTBOUND_RATE_LIMITS).length === 0) return UNLIMITED;
  const limits = { policies: config.OUTBOUND_RATE_LIMITS, maxWaitMs: config.OUTBOUND_RATE_LIMIT_MAX_WAIT_MS, timeoutMs: config.RATE_LIMIT_REDIS_TIMEOUT_MS };
  if (!deps.redis && deps.redisMode?.mode === 'none') return createOutboundLimiter({ redis: null, ...limits });
  const url = deps.redisMode?.mode === 'external' ? deps.redisMode.url : redisUrlOf(config);
  const connection = deps.redis
    ? openLimiterConnection(config.RATE_LIMIT_REDIS_URL, deps.redis)
    : openLimiterConnection(config.RATE_LIMIT_REDIS_URL ?? url, undefined);
  return createOutboundLimiter({
    redis: connection,
    ...limits,
    onClose: async () => {
      await connection.quit().catch(() => connection.disconnect());
    },
  });
}
