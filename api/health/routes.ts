import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../context.js';
import { within } from '../../platform/within.js';
import { ping } from '../../store/db.js';

const CHECK_TIMEOUT_MS = 2_000;
/** Dependencies this process still serves correctly without (degraded, not down). */
const SERVES_WITHOUT = new Set(['redis', 'postgres_read']);

/**
 * `/healthz`: the process is up. `/readyz`: can this process serve? PostgreSQL and Temporal must
 * answer (else 503 naming them: the load balancer takes the instance out). Each check answers `ok`
 * or `down`, never the driver's error text (an unauthenticated endpoint must not describe the
 * network behind it): the error goes to the log, once per change.
 * Redis down, and the rate limiter on its failure modes, are reported (`checks`, `degraded`) but
 * never make the answer 503: Redis is only a fast path (idempotency is decided in PostgreSQL, the
 * cache reads its source, the limiter limits in process or refuses its fail-closed policies), and
 * every instance shares the same Redis, so taking them all out of the load balancer would turn a
 * degraded service into an outage (README "Running in production").
 * `postgres_read` (only with DATABASE_READ_URL) down is degraded too: only the audit logs and the
 * ledger audit read there, and nothing else stops serving.
 */
export function healthRoutes({ pool, readPool, redis, temporal, rateLimiter }: AppDeps) {
  const checks: Record<string, () => Promise<unknown>> = {
    postgres: () => ping(pool),
    ...(readPool ? { postgres_read: () => ping(readPool) } : {}),
    redis: () => redis.ping(),
    temporal: () => temporal.workflowService.getSystemInfo({}),
  };
  const wasDown = new Set<string>();
  const check = async (name: string, run: () => Promise<unknown>) => {
    try {
      await within(CHECK_TIMEOUT_MS, run());
      if (wasDown.delete(name)) console.log(`[api] readyz: ${name} is back`);
      return [name, 'ok'] as const;
    } catch (err) {
      if (!wasDown.has(name)) console.error(`[api] readyz: ${name} is down: ${(err as Error).message}`);
      wasDown.add(name);
      return [name, 'down'] as const;
    }
  };
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const results = await Promise.all(Object.entries(checks).map(([name, run]) => check(name, run)));
      const failed = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
      const down = failed.filter((name) => !SERVES_WITHOUT.has(name));
      const limiter = rateLimiter?.health(); // its reason (a Redis error) is logged by the limiter itself
      const degraded = [...failed.filter((name) => SERVES_WITHOUT.has(name)), ...(limiter?.state === 'degraded' ? ['rate_limiter'] : [])];
      const limiterCheck = !limiter ? 'disabled' : limiter.state;
      return c.json({
        status: down.length ? 'unavailable' : degraded.length ? 'degraded' : 'ok',
        down,
        degraded,
        checks: { ...Object.fromEntries(results), rate_limiter: limiterCheck },
      }, down.length ? 503 : 200);
    });
}
