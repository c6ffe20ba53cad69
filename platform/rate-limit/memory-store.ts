import { LRUCache } from 'lru-cache';
import type { BucketStore, PolicyOutcome } from './store.js';

interface Bucket {
  /** In units: a request is `periodMs` units; `rate` units come back per ms (as in the Lua script). */
  level: number;
  ts: number;
}

/**
 * The in-process store: the fallback used while Redis cannot answer, and the limits themselves in
 * single-instance mode (no Redis: platform/redis-mode.ts). One token bucket per key with the
 * policy's own numbers (`burst` at once, `rate` per period; a window of `limit` becomes a bucket
 * of `limit` refilled over the window). It is per process: N API instances allow up to N times
 * the limit during an outage, instead of unlimited. The map is an LRU bounded at `maxKeys`.
 */
export function createMemoryStore(maxKeys: number): BucketStore {
  const buckets = new LRUCache<string, Bucket>({ max: maxKeys });
  return {
    async evaluate(checks, nowMs) {
      const states = checks.map(({ policy, key, cost }) => {
        const cap = policy.burst * policy.periodMs;
        const need = cost * policy.periodMs;
        const stored = buckets.get(key);
        const ts = Math.max(stored?.ts ?? nowMs, nowMs);
        const level = stored ? Math.min(cap, stored.level + (ts - stored.ts) * policy.rate) : cap;
        return { key, cap, need, level, ts, policy };
      });
      const allowed = states.every((s) => s.level >= s.need);
      const outcomes: PolicyOutcome[] = states.map((s, i) => {
        const consume = allowed && !checks[i]!.peek;
        const level = consume ? s.level - s.need : s.level;
        if (consume) buckets.set(s.key, { level, ts: s.ts });
        return {
          allowed: s.level >= s.need,
          remaining: Math.floor(level / s.policy.periodMs),
          resetMs: Math.ceil((s.cap - level) / s.policy.rate),
          retryAfterMs: s.level >= s.need ? 0 : Math.ceil((s.need - s.level) / s.policy.rate),
        };
      });
      return { allowed, outcomes };
    },
  };
}
