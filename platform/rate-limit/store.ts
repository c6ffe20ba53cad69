import type { Redis } from 'ioredis';
import { ALGORITHM_CODE, RATE_LIMIT_LUA } from './lua.js';
import type { Policy } from './policy.js';

/** One policy to decide for one subject: `key` is its bucket; `peek` checks without consuming. */
export interface PolicyCheck {
  policy: Policy;
  key: string;
  cost: number;
  peek: boolean;
}

export interface PolicyOutcome {
  allowed: boolean;
  /** Requests left after this one (or now, when nothing was consumed). */
  remaining: number;
  /** ms until the whole quota is back. */
  resetMs: number;
  /** ms until a request of this cost would be allowed (0 when allowed). */
  retryAfterMs: number;
}

export interface StoreResult {
  allowed: boolean;
  outcomes: PolicyOutcome[];
}

/** Where buckets live: Redis (shared by every API instance) or this process (the fallback). */
export interface BucketStore {
  /** Decides every check at time `nowMs`; consumes from each only when all allow. */
  evaluate(checks: PolicyCheck[], nowMs: number): Promise<StoreResult>;
}

/** The Redis store also decides several independent requests in one pipeline (one write, one round trip). */
export interface RedisBucketStore extends BucketStore {
  /** One result per request, or the error of that request's command. */
  evaluateMany(requests: PolicyCheck[][], nowMs: number): Promise<(StoreResult | Error)[]>;
}

const COMMAND = 'steadfastRateLimit';
type ScriptCommand = (numKeys: number, ...keysThenArgs: (string | number)[]) => Promise<number[]>;

/**
 * The Redis store: one EVALSHA of the multi-policy script per decision. ioredis `defineCommand`
 * sends EVALSHA and falls back to EVAL on NOSCRIPT (first call, or after Redis restarted empty).
 */
export function createRedisStore(redis: Redis): RedisBucketStore {
  redis.defineCommand(COMMAND, { lua: RATE_LIMIT_LUA });
  const run = (redis as unknown as Record<typeof COMMAND, ScriptCommand>)[COMMAND].bind(redis);
  return {
    async evaluate(checks, nowMs) {
      const reply = await run(checks.length, ...scriptArguments(checks, nowMs));
      return parseReply(reply, checks.length);
    },
    async evaluateMany(requests, nowMs) {
      const pipeline = redis.pipeline() as unknown as Record<typeof COMMAND, (...args: (string | number)[]) => unknown> & ReturnType<Redis['pipeline']>;
      for (const checks of requests) pipeline[COMMAND](checks.length, ...scriptArguments(checks, nowMs));
      const replies = (await pipeline.exec()) ?? [];
      return requests.map((checks, i) => {
        const [err, reply] = replies[i] ?? [new Error('no reply'), null];
        if (err) return err;
        return parseReply(reply as number[], checks.length);
      });
    },
  };
}

/** KEYS then ARGV of the script, in its order (exported for the benchmark's redis-benchmark run). */
export function scriptArguments(checks: PolicyCheck[], nowMs: number): (string | number)[] {
  const args: (string | number)[] = checks.map((c) => c.key);
  args.push(nowMs, checks.length);
  for (const { policy, cost, peek } of checks) {
    args.push(ALGORITHM_CODE[policy.algorithm], policy.rate, policy.periodMs, policy.burst, cost, peek ? 1 : 0);
  }
  return args;
}

function parseReply(reply: number[], count: number): StoreResult {
  if (!Array.isArray(reply) || reply.length !== 1 + 4 * count) {
    throw new Error(`rate-limit script answered ${JSON.stringify(reply)} for ${count} policies`);
  }
  const outcomes: PolicyOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const [allowed, remaining, resetMs, retryAfterMs] = reply.slice(1 + 4 * i, 5 + 4 * i) as [number, number, number, number];
    outcomes.push({ allowed: allowed === 1, remaining, resetMs, retryAfterMs });
  }
  return { allowed: reply[0] === 1, outcomes };
}
