import type { Redis } from 'ioredis';
import { metrics } from '../metrics.js';
import { createMemoryStore } from './memory-store.js';
import type { Policy } from './policy.js';
import { createRedisStore, type PolicyCheck, type PolicyOutcome, type StoreResult } from './store.js';
import { within } from '../within.js';
import { childLogger } from '../log.js';

const rateLimitLog = childLogger({ component: 'rate-limit' });

/** One policy to apply to one subject (`key:<tenant>`, `ip:<address>`, …). */
export interface LimitRequest {
  policy: string;
  subject: string;
  /** Requests this counts as (default 1); at most the policy's burst. */
  cost?: number;
  /** Check without consuming: refused when a request of `cost` would be refused now. */
  peek?: boolean;
}

export type Outcome = 'allowed' | 'limited' | 'fail_open' | 'fail_closed' | 'fallback_limited';

export interface Verdict extends PolicyOutcome {
  policy: Policy;
  subject: string;
  peek: boolean;
}

export interface Decision {
  allowed: boolean;
  outcome: Outcome;
  verdicts: Verdict[];
  /** ms until every refusing policy would allow the request (0 when allowed). */
  retryAfterMs: number;
}

export interface LimiterHealth {
  /** `degraded`: Redis is not answering, so decisions follow each policy's failure mode. */
  state: 'ok' | 'degraded';
  reason?: string;
}

export interface RateLimiter {
  readonly policies: ReadonlyMap<string, Policy>;
  /** Decides every request's policy in one Redis call; consumes only when all allow. */
  check(requests: LimitRequest[]): Promise<Decision>;
  /**
   * Several independent decisions (each all-or-nothing on its own policies) in one pipeline: one
   * write and one round trip for all, for callers that decide in bulk (a notification fan-out).
   */
  checkMany(batch: LimitRequest[][]): Promise<Decision[]>;
  health(): LimiterHealth;
  /** Resolves once the Redis connection is ready (or after `waitMs`, whichever comes first). */
  ready(waitMs?: number): Promise<void>;
  /** Closes what the limiter owns (its own Redis connection, when it opened one). */
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  /**
   * A connection for the limiter alone: `enableOfflineQueue: false`, so a down Redis fails at once.
   * null: single-instance mode (platform/redis-mode.ts): every decision in process, on the bucket
   * store the fallback uses (windows counted as buckets of the same numbers), always `ok`.
   */
  redis: Redis | null;
  policies: Policy[];
  /** A decision waits at most this long for Redis. */
  timeoutMs: number;
  /**
   * Milliseconds since the epoch, passed to the script as `now`. The caller's clock, not Redis
   * TIME: tests can drive it exactly, and the script stays a pure function of its arguments.
   * API instances' clocks differ by NTP's skew (a few ms); the scripts never move a bucket's
   * time backwards, so a lagging instance is at worst that much stricter.
   */
  clock?: () => number;
  /** Prefix of every bucket key (tests use their own). */
  keyPrefix?: string;
  fallbackMaxKeys?: number;
  /** Run by `close()`: release what the creator handed over (e.g. quit an owned connection). */
  onClose?: () => Promise<void>;
  log?: (message: string) => void;
}

/** A fail-closed refusal asks the client to come back after this long. */
export const FAIL_CLOSED_RETRY_MS = 1_000;
const FALLBACK_MAX_KEYS_DEFAULT = 10_000;

/**
 * Distributed rate limiting over Redis: one atomic Lua script per decision, several policies at
 * once. When Redis fails or is slower than `timeoutMs`, `failure_mode: closed` policies refuse
 * (`fail_closed`) and `open` ones fall back to an in-process bucket (`fail_open` /
 * `fallback_limited`). ioredis reconnects by itself: the next decision after Redis is back
 * goes to Redis again.
 *
 * @example
 * const limiter = createRateLimiter({ redis, policies: [toPolicy('default', config.RATE_LIMIT_DEFAULT)], timeoutMs: 100 });
 * const decision = await limiter.check([{ policy: 'default', subject: `key:${tenantId}` }]);
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { redis, timeoutMs } = options;
  const clock = options.clock ?? Date.now;
  const prefix = options.keyPrefix ?? 'rl';
  const log = options.log ?? ((message: string) => rateLimitLog.warn(message));
  const policies = new Map(options.policies.map((p) => [p.name, p]));
  const remote = redis ? createRedisStore(redis) : null;
  const fallback = createMemoryStore(options.fallbackMaxKeys ?? FALLBACK_MAX_KEYS_DEFAULT);
  let lastFailure: string | undefined;
  // 'starting' until the first connect succeeds or fails; then follows the connection.
  let connection: 'starting' | 'up' | 'down' = redis?.status === 'ready' ? 'up' : 'starting';
  redis?.on('ready', () => (connection = 'up'));
  redis?.on('close', () => (connection = 'down'));

  function toChecks(requests: LimitRequest[]): Check[] {
    const checks = requests.map((r) => {
      const policy = policies.get(r.policy);
      if (!policy) throw new Error(`unknown rate-limit policy ${r.policy}`);
      const cost = r.cost ?? 1;
      if (!Number.isInteger(cost) || cost < 1 || cost > policy.burst) {
        throw new Error(`cost ${cost} outside 1..${policy.burst} of policy ${policy.name}`);
      }
      const key = `${prefix}:${policy.name}:${policy.algorithm}:${r.subject}`;
      return { policy, subject: r.subject, key, cost, peek: r.peek === true };
    });
    if (new Set(checks.map((c) => c.key)).size !== checks.length) throw new Error('a policy is checked twice for one subject');
    return checks;
  }

  function healthy() {
    if (lastFailure !== undefined) log('Redis answers again: limits are shared across instances again');
    lastFailure = undefined;
  }

  function failed(err: Error) {
    const reason = err.message;
    if (lastFailure === undefined) log(`Redis unavailable (${reason}): policies fail open (in-process limits) or closed`);
    lastFailure = reason;
  }

  /** A Redis answer becomes the decision; a Redis failure falls to the policies' failure modes. */
  async function settle(checks: Check[], result: StoreResult | Error, now: number): Promise<Decision> {
    let decision: Decision;
    if (result instanceof Error) {
      failed(result);
      decision = await degraded(checks, now);
    } else {
      healthy();
      decision = decide(checks, result, result.allowed ? 'allowed' : 'limited');
    }
    count(decision);
    return decision;
  }

  /** Single-instance mode: the in-process store is the limit, not a fallback. */
  async function inProcess(checks: Check[], now: number): Promise<Decision> {
    const result = await fallback.evaluate(checks, now);
    const decision = decide(checks, result, result.allowed ? 'allowed' : 'limited');
    count(decision);
    return decision;
  }

  async function degraded(checks: Check[], now: number): Promise<Decision> {
    if (checks.some((c) => c.policy.failureMode === 'closed')) {
      const refused = { allowed: false, remaining: 0, resetMs: FAIL_CLOSED_RETRY_MS, retryAfterMs: FAIL_CLOSED_RETRY_MS };
      return decide(checks, { allowed: false, outcomes: checks.map(() => refused) }, 'fail_closed');
    }
    const result = await fallback.evaluate(checks, now);
    return decide(checks, result, result.allowed ? 'fail_open' : 'fallback_limited');
  }

  return {
    policies,
    async check(requests) {
      const checks = toChecks(requests);
      const now = Math.floor(clock());
      if (!remote) return inProcess(checks, now);
      const result = await within(timeoutMs, remote.evaluate(checks, now)).catch((err: unknown) => toError(err));
      return settle(checks, result, now);
    },
    async checkMany(batch) {
      const requests = batch.map(toChecks);
      const now = Math.floor(clock());
      if (!remote) return Promise.all(requests.map((checks) => inProcess(checks, now)));
      const results = await within(timeoutMs, remote.evaluateMany(requests, now))
        .catch((err: unknown) => requests.map(() => toError(err)));
      return Promise.all(requests.map((checks, i) => settle(checks, results[i]!, now)));
    },
    health() {
      if (!redis) return { state: 'ok' };
      if (connection === 'down') return { state: 'degraded', reason: `redis connection ${redis.status}` };
      return lastFailure === undefined ? { state: 'ok' } : { state: 'degraded', reason: lastFailure };
    },
    async ready(waitMs = 5_000) {
      if (!redis || redis.status === 'ready') return;
      let onReady: (() => void) | undefined;
      await within(waitMs, new Promise<void>((resolve) => redis.once('ready', (onReady = resolve))))
        .catch(() => undefined)
        .finally(() => redis.off('ready', onReady!));
    },
    async close() {
      await options.onClose?.();
    },
  };
}

type Check = PolicyCheck & { subject: string };

function decide(checks: Check[], result: { allowed: boolean; outcomes: PolicyOutcome[] }, outcome: Outcome): Decision {
  const verdicts = result.outcomes.map((o, i): Verdict => {
    const { policy, subject, peek } = checks[i]!;
    return { policy, subject, peek, ...o };
  });
  const retryAfterMs = result.allowed ? 0 : Math.max(0, ...verdicts.filter((v) => !v.allowed).map((v) => v.retryAfterMs));
  return { allowed: result.allowed, outcome, verdicts, retryAfterMs };
}

/** Counts an allowed decision under each consuming policy, a refused one under each refusing policy. */
function count(decision: Decision): void {
  for (const v of decision.verdicts) {
    if (decision.allowed ? v.peek : v.allowed) continue;
    metrics.rateLimitDecisions.inc({ policy: v.policy.name, outcome: decision.outcome });
  }
}

const toError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));

