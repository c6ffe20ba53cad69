import { z } from 'zod';
import { intFromEnv } from './env.js';

/**
 * Redis and how many instances share it (issue #17). Spread into the one schema in
 * platform/config.ts; the start-up decision (probe, single-instance mode) is platform/redis-mode.ts.
 */
export const redisEnv = {
  /**
   * Unset: redis://127.0.0.1:6379 when something answers there, else single-instance mode (no
   * Redis). Set: it must answer (REDIS_MODE=auto), never a silent fallback.
   */
  REDIS_URL: z.string().url().optional(),
  /**
   * `auto`: as REDIS_URL says above, decided at start. `external`: Redis is required and not
   * probed at start (it may still be starting; what `npm start` passes to its children, and what a
   * supervised deployment whose Redis can restart should say). `none`: single-instance mode, no probe.
   */
  REDIS_MODE: z.enum(['auto', 'external', 'none']).default('auto'),
  /** How many instances of each process (API, worker) the deployment runs; more than one needs Redis. */
  STEADFAST_INSTANCES: intFromEnv(1, 1, 1_000),
};

interface RedisEnv {
  REDIS_URL?: string;
  REDIS_MODE: 'auto' | 'external' | 'none';
  STEADFAST_INSTANCES: number;
  RATE_LIMIT_REDIS_URL?: string;
}

/** Contradictions visible without a probe: single-instance mode named together with a Redis or several instances. */
export function redisConfigProblems(env: RedisEnv): string[] {
  if (env.REDIS_MODE !== 'none') return [];
  const problems: string[] = [];
  if (env.STEADFAST_INSTANCES > 1) {
    problems.push(`REDIS_MODE: none is single-instance mode; STEADFAST_INSTANCES=${env.STEADFAST_INSTANCES} needs a Redis shared by every instance (set REDIS_URL)`);
  }
  if (env.REDIS_URL !== undefined) problems.push('REDIS_URL: set together with REDIS_MODE=none (unset one of them)');
  if (env.RATE_LIMIT_REDIS_URL !== undefined) problems.push('RATE_LIMIT_REDIS_URL: set together with REDIS_MODE=none (unset one of them)');
  return problems;
}
