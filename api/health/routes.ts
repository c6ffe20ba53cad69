import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../context.js';
import { within } from '../../platform/within.js';
import { ping } from '../../store/db.js';

const CHECK_TIMEOUT_MS = 2_000;

/**
 * `/healthz`: the process is up. `/readyz`: PostgreSQL, Redis and Temporal answer (else 503 naming
 * them). The rate limiter is reported (`checks.rate_limiter`, and `degraded` while it runs on its
 * failure modes) but never makes the answer 503: it still limits in process (or refuses its
 * fail-closed policies), and every instance shares its Redis, so taking this one out of the load
 * balancer would not help; Redis itself is checked on its own.
 */
export function healthRoutes({ pool, redis, temporal, rateLimiter }: AppDeps) {
  const checks: Record<string, () => Promise<unknown>> = {
    postgres: () => ping(pool),
    redis: () => redis.ping(),
    temporal: () => temporal.workflowService.getSystemInfo({}),
  };
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            await within(CHECK_TIMEOUT_MS, check());
            return [name, 'ok'] as const;
          } catch (err) {
            return [name, `down: ${(err as Error).message}`] as const;
          }
        }),
      );
      const down = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
      const limiter = rateLimiter?.health();
      const degraded = limiter?.state === 'degraded' ? ['rate_limiter'] : [];
      const limiterCheck = !limiter ? 'disabled' : limiter.state === 'ok' ? 'ok' : `degraded: ${limiter.reason}`;
      return c.json({
        status: down.length ? 'unavailable' : degraded.length ? 'degraded' : 'ok',
        down,
        degraded,
        checks: { ...Object.fromEntries(results), rate_limiter: limiterCheck },
      }, down.length ? 503 : 200);
    });
}
