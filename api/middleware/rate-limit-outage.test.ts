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
      RATE_LIMIT_REDIS_TIMEOUT_MS: '100',
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

const failClosedCount = async () =>
  (await metrics.rateLimitDecisions.get()).values.find((v) => v.labels.policy === 'strict' && v.labels.outcome === 'fail_closed')?.value ?? 0;

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
    expect(performance.now() - started).toBeLessThan(2_000); // nobody waited on the dead Redis

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
    expect(body.checks.rate_limiter).toMatch(/^degraded: /);
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
      await admin.call('CLIENT', 'PAUSE', '3000', 'WRITE');
      const tenant = await h.newTenant();
      const started = performance.now();
      const res = await call(a, tenant.apiKey, 'GET', '/v1/accounts/acct_x');
      const elapsedMs = performance.now() - started;
      expect(res.status).toBe(404);
      expect(res.headers.get('ratelimit')).toBe('"default";r=2;t=10');
      expect(elapsedMs).toBeGreaterThanOrEqual(100);
      expect(elapsedMs).toBeLessThan(1_000);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });
});
