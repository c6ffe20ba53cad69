import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../platform/metrics.js';
import { createApiRateLimiter, type RateLimiter } from '../../platform/rate-limit/index.js';
import { freePort } from '../../platform/temporal-dev-server.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';

/**
 * The limiter's Redis goes away and comes back. This file runs its OWN redis-server on a free
 * port (the run's shared Redis is never touched): killed, paused and restarted on the same port.
 */

const START_TIMEOUT_MS = 5_000;
/**
 * The limiter's Redis timeout: long, so both timing checks have wide margins on a loaded machine. A
 * decision that waited for a dead Redis would take this long (none may), and one against a paused
 * Redis takes at least this long and then ends long before the pause does.
 */
const REDIS_TIMEOUT_MS = 2_000;
const PAUSE_MS = 30_000;

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), START_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

let port: number;
let server: ChildProcess;
let h: Harness;
const now = Date.now(); // a fixed clock: only the burst matters here, never a refill
const limiters: RateLimiter[] = [];
let a: ReturnType<typeof createApp>;
let b: ReturnType<typeof createApp>;

beforeAll(async () => {
  port = await freePort();
  server = await startRedis(port);
  h = await startHarness({
    worker: false,
    env: {
      TRUST_PROXY: '1',
      RATE_LIMIT_REDIS_URL: `redis://127.0.0.1:${port}`,
      RATE_LIMIT_REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS),
      RATE_LIMIT_DEFAULT: JSON.stringify({ algorithm: 'token_bucket', rate: 1, period: '10s', burst: 3 }),
      RATE_LIMIT_POLICIES: JSON.stringify({ strict: { algorithm: 'sliding_window', limit: 100, window: '1s', failure_mode: 'closed' } }),
      RATE_LIMIT_ROUTES: JSON.stringify([{ method: 'POST', path: '/v1/accounts', policies: ['strict'] }]),
    },
  });
  const keyPrefix = `test-rl-${randomUUID()}`;
  const instance = async () => {
    const rateLimiter = createApiRateLimiter(h.config, { redis: h.redis, clock: () => now, keyPrefix });
    limiters.push(rateLimiter);
    await rateLimiter.ready();
    return createApp({ config: h.config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal, rateLimiter });
  };
  [a, b] = [await instance(), await instance()];
});

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  await h?.close();
  if (server) await stopRedis(server);
});

async function call(app: typeof a, key: string, method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': '2001:db8::7', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** GETs alternating between the two instances: their statuses. */
async function alternate(key: string, count: number, apps = [a, b]): Promise<number[]> {
  const statuses = [];
  for (let i = 0; i < count; i++) statuses.push((await call(apps[i % apps.length]!, key, 'GET', '/v1/accounts/acct_x')).status);
  return statuses;
}

const decisions = async (policy: string, outcome: string) =>
  (await metrics.rateLimitDecisions.get()).values.find((v) => v.labels.policy === policy && v.labels.outcome === outcome)?.value ?? 0;
const failClosedCount = () => decisions('strict', 'fail_closed');

describe('the limiter when its Redis fails', () => {
  it('with Redis up, two instances share one limit', async () => {
    const tenant = await h.newTenant();
    expect(await alternate(tenant.apiKey, 6)).toEqual([404, 404, 404, 429, 429, 429]);
  });

  it('Redis killed: fail-open stays bounded per instance, fail-closed answers 503, /readyz says degraded', async () => {
    await stopRedis(server);
    const tenant = await h.newTenant();
    const started = performance.now();
    // Each instance now limits on its own, with the same numbers: 3 each, not 3 together.
    expect(await alternate(tenant.apiKey, 4, [a])).toEqual([404, 404, 404, 429]);
    expect(await alternate(tenant.apiKey, 4, [b])).toEqual([404, 404, 404, 429]);
    expect(performance.now() - started).toBeLessThan(REDIS_TIMEOUT_MS); // nobody waited on the dead Redis (one who did takes the whole timeout)

    const limited = await call(a, tenant.apiKey, 'GET', '/v1/accounts/acct_x');
    expect([limited.status, limited.body.error.code, limited.headers.get('retry-after')]).toEqual([429, 'rate_limited', '10']);

    const closedBefore = await failClosedCount();
    const closed = await call(b, (await h.newTenant()).apiKey, 'POST', '/v1/accounts', { type: 'user', currency: 'USD' });
    expect(closed.status).toBe(503);
    expect(closed.body.error).toMatchObject({ type: 'api_error', code: 'internal_error' });
    expect(closed.headers.get('retry-after')).toBe('1');
    expect(await failClosedCount()).toBe(closedBefore + 1);

    const ready = await a.request('/readyz');
    expect(ready.status).toBe(200); // the run's Redis is up; only the limiter's is down
    const body = (await ready.json()) as Record<string, any>;
    expect(body).toMatchObject({ status: 'degraded', down: [], degraded: ['rate_limiter'], checks: { redis: 'ok' } });
    expect(body.checks.rate_limiter).toBe('degraded'); // its reason (a Redis error) is in the log, not in the answer
  });

  it('Redis back on the same port: limits are shared again, without a restart', async () => {
    server = await startRedis(port);
    await Promise.all(limiters.map((l) => l.ready(5_000)));
    const tenant = await h.newTenant();
    expect(await alternate(tenant.apiKey, 6)).toEqual([404, 404, 404, 429, 429, 429]);
    expect((await call(a, (await h.newTenant()).apiKey, 'POST', '/v1/accounts', { type: 'user', currency: 'USD' })).status).toBe(201);
    expect(await (await b.request('/readyz')).json()).toMatchObject({ status: 'ok', degraded: [], checks: { rate_limiter: 'ok' } });
  });

  it('Redis too slow: a decision waits at most the timeout, then fails open', async () => {
    const admin = new Redis(`redis://127.0.0.1:${port}`);
    try {
      // WRITE pauses scripts (they may write) but lets this client's UNPAUSE through.
      const tenant = await h.newTenant();
      const failedOpen = await decisions('default', 'fail_open');
      await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
      const started = performance.now();
      const res = await call(a, tenant.apiKey, 'GET', '/v1/accounts/acct_x');
      const elapsedMs = performance.now() - started;
      expect(res.status).toBe(404);
      expect(res.headers.get('ratelimit')).toBe('"default";r=2;t=10');
      // Decided without Redis (the in-process bucket), after waiting the timeout and not the pause.
      expect(await decisions('default', 'fail_open')).toBe(failedOpen + 1);
      expect(elapsedMs).toBeGreaterThanOrEqual(REDIS_TIMEOUT_MS - 1); // timers may fire up to 1 ms early on performance.now()
      expect(elapsedMs).toBeLessThan(PAUSE_MS / 2);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });
});
