import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../context.js';
import { within } from '../../platform/within.js';
import { ping } from '../../store/db.js';
import { childLogger } from '../../platform/log.js';

const log = childLogger({ component: 'readyz' });

const CHECK_TIMEOUT_MS = 2_000;
/** Dependencies this process still serves correctly without (degraded, not down). */
const SERVES_WITHOUT = new Set(['postgres_read']);

/**
 * `/healthz`: the process is up. `/readyz` (contract §0): PostgreSQL, Redis and Temporal answer
 * (else 503 naming them). Each check answers `ok` or `down`, never the driver's error text (an
 * unauthenticated endpoint must not describe the network behind it): the error goes to the log,
 * once per change. The rate limiter is reported (`checks.rate_limiter`, and `degraded` while it runs
 * on its failure modes) but never makes the answer 503: it still limits in process (or refuses its
 * fail-closed policies), and every instance shares its Redis; Redis itself is checked on its own.
 * `postgres_read` (only with DATABASE_READ_URL) down is `degraded` (200): only the audit logs and the
 * ledger audit read there. A load balancer should take an instance out only when PostgreSQL or
 * Temporal is down (deploy/haproxy/haproxy.cfg matches `checks` in the body): every instance shares
 * the same Redis and serves without it, so removing them all would turn it into an outage.
 * Without Redis (single-instance mode, platform/redis-mode.ts) there is nothing to check: the
 * answer says `mode: 'single-instance'` and `checks.redis: 'disabled'`, and is 200 when the rest is.
 */
export function healthRoutes({ pool, readPool, redis, temporal, rateLimiter }: AppDeps) {
  const checks: Record<string, () => Promise<unknown>> = {
    postgres: () => ping(pool),
    ...(readPool ? { postgres_read: () => ping(readPool) } : {}),
    ...(redis ? { redis: () => redis.ping() } : {}),
    temporal: () => temporal.workflowService.getSystemInfo({}),
  };
  const wasDown = new Set<string>();
  const check = async (name: string, run: () => Promise<unknown>) => {
    try {
      await within(CHECK_TIMEOUT_MS, run());
      if (wasDown.delete(name)) log.info({ dependency: name }, 'dependency is back');
      return [name, 'ok'] as const;
    } catch (err) {
      if (!wasDown.has(name)) log.error({ dependency: name, err }, 'dependency is down');
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
        ...(redis ? {} : { mode: 'single-instance' }),
        down,
        degraded,
        checks: { ...Object.fromEntries(results), ...(redis ? {} : { redis: 'disabled' }), rate_limiter: limiterCheck },
      }, down.length ? 503 : 200);
    });
}
