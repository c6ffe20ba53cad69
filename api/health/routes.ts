import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../context.js';

const CHECK_TIMEOUT_MS = 2_000;

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `/healthz`: the process is up. `/readyz`: PostgreSQL, Redis and Temporal answer (else 503 naming them). */
export function healthRoutes({ pool, redis, temporal }: AppDeps) {
  const checks: Record<string, () => Promise<unknown>> = {
    postgres: () => pool.query('SELECT 1'),
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
      return c.json({ status: down.length ? 'unavailable' : 'ok', down, checks: Object.fromEntries(results) },
        down.length ? 503 : 200);
    });
}
