import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterEach, expect, inject } from 'vitest';
import { createTenant } from '../api/admin/tenants.js';
import { createApp } from '../api/app.js';
import { mintActorToken } from '../api/middleware/actor.js';
import { loadConfig, type Config } from '../platform/config.js';
import { clientConnectionOptions, workerConnectionOptions } from '../platform/temporal-connection.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { createPool } from '../store/db.js';
import { auditLedger } from '../store/ledger/audit.js';
import { temporalLogger } from '../platform/temporal-logger.js';
import { createOutboundLimiterFromConfig } from '../platform/rate-limit/outbound.js';
import { createCacheFromConfig } from '../platform/cache/index.js';
import { createApiRateLimiter, type RateLimiter } from '../platform/rate-limit/index.js';
import { createWorkers, WORKER_DOMAINS } from '../workers/registry.js';
import { tracingClientInterceptors } from '../platform/telemetry/temporal.js';
import type { Tracing } from '../platform/telemetry/tracing.js';

export const ADMIN_KEY = 'sk_admin_test_0123456789abcdefghij';

let runtimeInstalled = false;
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // The SDK's lines (its own, activities' and workflows' with their ids) go to the run's log file
  // (test/run-logs.ts), as a worker process's do; its core's (Rust) too, from WARN (replay tests fail
  // workflow tasks on purpose).
  Runtime.install({
    logger: temporalLogger(),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
}

/** The environment a test process runs with: the run's shared services, a task queue of its own. */
/** The harness's `redis` in a run without Redis: any use fails, naming what the test needed. */
const NO_REDIS = new Proxy({}, {
  get(_target, name) {
    if (name === 'then') return undefined; // not a thenable
    throw new Error(`this test needs Redis (redis.${String(name)}), and this run has none (single-instance mode)`);
  },
}) as Redis;

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: inject('databaseUrl'),
    // '' : the run has no Redis (test/global-setup.ts): single-instance mode, as npm start without one.
    ...(inject('redisUrl') ? { REDIS_URL: inject('redisUrl') } : { REDIS_MODE: 'none' }),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TASK_QUEUE_WALLET: `test-${randomUUID()}`,
    TASK_QUEUE_PAYMENTS: `test-payments-${randomUUID()}`,
    TASK_QUEUE_HR: `test-hr-${randomUUID()}`,
    TASK_QUEUE_NOTIFICATIONS: `test-notifications-${randomUUID()}`,
    NOTIFICATION_RETRY_INITIAL_INTERVAL: '100ms',
    NOTIFICATION_RETRY_MAX_INTERVAL: '400ms',
    NOTIFICATION_RETRY_MAX_ATTEMPTS: '3',
    WEBHOOK_RETRY_INITIAL_INTERVAL: '100ms',
    WEBHOOK_RETRY_MAX_INTERVAL: '400ms',
    WEBHOOK_RETRY_MAX_ATTEMPTS: '3',
    PROVIDER_TIMEOUT_MS: '2000',
    // In-process requests have no socket: every test file's bad-key requests share the address
    // 'unknown' (in one Redis). Generous here; the rate-limit tests set their own and use X-Forwarded-For.
    RATE_LIMIT_UNAUTHENTICATED: JSON.stringify({ algorithm: 'token_bucket', rate: 100, period: '1s', burst: 1000 }),
    // Bursts of a few hundred requests per key (200 concurrent transfers after their set-up) must not
    // meet the contract's 100/s, burst 200: the rate-limit tests check that policy with their own.
    RATE_LIMIT_DEFAULT: JSON.stringify({ algorithm: 'token_bucket', rate: 1000, period: '1s', burst: 5000 }),
    WEBHOOK_TIMEOUT_MS: '2000',
    // Test receivers are plain-http servers on 127.0.0.1: the file's providers simulator (which
    // serves /webhooks beside /push) is allowlisted by its host:port, nothing else on loopback.
    WEBHOOK_ALLOW_HTTP: 'true',
    ...(overrides.PUSH_PROVIDER_URL ? { WEBHOOK_PRIVATE_ALLOWLIST: new URL(overrides.PUSH_PROVIDER_URL).host } : {}),
    PROCESSORS_URL: inject('processorsUrl'),
    PROCESSOR_TIMEOUT_MS: '1000',
    ADMIN_API_KEY: ADMIN_KEY,
    // Connection budget: PostgreSQL allows 100 and two files run at once. A file holds at most this
    // pool, one worker process (10) and one relay process (5); store tests stay at or under 20.
    DB_POOL_MAX: String(TEST_POOL_MAX),
    // Files' workers poll unversioned (no Current Version to set per file); workers/versioning.test.ts
    // and `npm run drill:upgrade` run versioned workers, each under a deployment name of its own.
    WORKER_VERSIONING: 'false',
    WORKER_DEPLOYMENT_NAME: `test-${randomUUID()}`,
    ...overrides,
  });
}

/** The largest pool any one test file opens (see the budget in `testConfig`). */
export const TEST_POOL_MAX = 20;

export interface ApiResponse<T = Record<string, any>> {
  status: number;
  body: T;
  headers: Headers;
}

export type Call = (
  method: string,
  path: string,
  options?: { body?: unknown; raw?: string; headers?: Record<string, string>; idempotencyKey?: string },
) => Promise<ApiResponse>;

export interface Harness {
  config: Config;
  pool: pg.Pool;
  redis: Redis;
  temporal: Client;
  app: ReturnType<typeof createApp>;
  /** The app's rate limiter, connected (for a test that builds its own app beside it). */
  rateLimiter: RateLimiter | undefined;
  /** Calls the API in process, as `key` (null: no Authorization header). */
  as(key: string | null): Call;
  admin: Call;
  newTenant(name?: string): Promise<{ id: string; apiKey: string; call: Call }>;
  startWorker(overrides?: { faultDelayBeforePostMs?: number }): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

function caller(app: ReturnType<typeof createApp>, key: string | null): Call {
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await app.request(path, { method, headers, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };
}

/**
 * Everything a test file needs against the real services: a pool, Redis, a Temporal client, the
 * API app in process and (by default) a wallet worker on the file's own task queue.
 */
export async function startHarness(
  options: {
    env?: Record<string, string>; worker?: boolean; notifications?: boolean;
    /** The app's DATABASE_READ_URL pool (api/context.ts `readPool`), owned and ended by the caller. Absent: `pool`. */
    readPool?: pg.Pool;
    /** The test process's tracing (platform/telemetry/tracing.ts): the workers' workflow spans go to it. */
    tracing?: Tracing;
  } = {},
): Promise<Harness> {
  installQuietRuntime();
  const config = testConfig(options.env);
  const pool = createPool(config.DATABASE_URL, config.DB_POOL_MAX);
  const redisUrl = inject('redisUrl');
  // Single-instance run: the app has no Redis; a test that reaches for one says so (it needs Redis).
  const redis = redisUrl ? new Redis(redisUrl, { maxRetriesPerRequest: 1 }) : null;
  const connection = await Connection.connect(clientConnectionOptions(config));
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config), interceptors: tracingClientInterceptors() });
  const rateLimiter = config.RATE_LIMIT_ENABLED ? createApiRateLimiter(config, { redis }) : undefined;
  // Its Redis connection is up before the first request (else that request fails open and says so on stderr).
  await rateLimiter?.ready(5_000);
  const app = createApp({ config, adminApiKey: ADMIN_KEY, pool, readPool: options.readPool, redis, temporal, rateLimiter });
  const stoppers: (() => Promise<void>)[] = [];

  async function startWorker(overrides: { faultDelayBeforePostMs?: number } = {}) {
    const workerConnection = await NativeConnection.connect(workerConnectionOptions(config));
    const outbound = createOutboundLimiterFromConfig(config, redis ? { redis } : { redisMode: { mode: 'none', reason: 'a single-instance test run' } });
    // A cache instance of its own, as a worker process has: the app's invalidations reach it over
    // Redis (without Redis, within this process: the same key prefix).
    const cache = createCacheFromConfig(redis, config);
    const { workers, close } = await createWorkers({
      config: { ...config, FAULT_DELAY_BEFORE_POST_MS: overrides.faultDelayBeforePostMs ?? 0 },
      connection: workerConnection, pool, outbound, cache, workflowBundlePath: inject('workflowBundlePath'),
      ...(options.tracing ? { tracing: options.tracing } : {}),
      limits: { maxConcurrentActivityTaskExecutions: 100, maxConcurrentWorkflowTaskExecutions: 40, shutdownGraceTimeMs: 2_000 },
    }, options.notifications ? WORKER_DOMAINS : ['wallet', 'payments', 'hr']);
    const running = Promise.all(workers.map((worker) => worker.run()));
    const stop = async () => {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await close();
      await outbound.close();
      cache.close();
      await workerConnection.close();
    };
    stoppers.push(stop);
    return stop;
  }

  if (options.worker !== false) await startWorker();
  const admin = caller(app, ADMIN_KEY);
  return {
    config, pool, redis: redis ?? NO_REDIS, temporal, app, admin, rateLimiter,
    as: (key) => caller(app, key),
    async newTenant(name = 'Test tenant') {
      const tenant = await createTenant(pool, name);
      return { id: tenant.id, apiKey: tenant.apiKey, call: caller(app, tenant.apiKey) };
    },
    startWorker,
    async close() {
      await Promise.allSettled(stoppers.map((stop) => stop()));
      await connection.close();
      await rateLimiter?.close();
      redis?.disconnect();
      await pool.end();
    },
  };
}

/**
 * Lets `request` (sent while the harness has no worker) reach the server, then starts the worker,
 * and answers what the request got: the run meets the request in its first workflow task, before it
 * has heard of a step that already committed (a run one step behind its row).
 */
export async function sentBeforeAnyWorker<T>(h: Harness, request: Promise<T>): Promise<T> {
  await new Promise((r) => setTimeout(r, 500));
  await h.startWorker();
  return request;
}

/** Creates an account through the API and, if asked, funds it with a `btok_success` top-up. */
export async function createAccount(
  call: Call,
  options: { type?: 'user' | 'merchant'; currency?: string; fundMinor?: number; limits?: Record<string, number> } = {},
): Promise<string> {
  const currency = options.currency ?? 'USD';
  const res = await call('POST', '/v1/accounts', {
    body: { type: options.type ?? 'user', currency, ...(options.limits ? { limits: options.limits } : {}) },
  });
  if (res.status !== 201) throw new Error(`account creation failed: ${JSON.stringify(res.body)}`);
  if (options.fundMinor) {
    const topup = await call('POST', '/v1/topups', {
      body: { account_id: res.body.id, amount: options.fundMinor, currency, source: { type: 'bank_account', token: 'btok_success' } },
    });
    let funded = topup.body;
    for (let i = 0; funded.status === 'pending' && i < 300; i++) {
      await new Promise((r) => setTimeout(r, 100));
      funded = (await call('GET', `/v1/topups/${topup.body.id}`)).body;
    }
    if (funded.status !== 'succeeded') throw new Error(`funding failed: ${JSON.stringify(funded)}`);
  }
  return res.body.id as string;
}

export async function balanceOf(call: Call, accountId: string): Promise<{ balance: number; available: number }> {
  const res = await call('GET', `/v1/accounts/${accountId}`);
  return { balance: res.body.balance as number, available: res.body.available_balance as number };
}

/** Counts a tenant's rows in the tables a request could write to. */
export interface RowCounts {
  accounts: number;
  transfers: number;
  topups: number;
  ledger_transactions: number;
  holds: number;
  idempotency_keys: number;
}

export async function tenantRowCounts(pool: pg.Pool, tenantId: string): Promise<RowCounts> {
  const { rows } = await pool.query(
    `SELECT (SELECT count(*) FROM accounts WHERE tenant_id = $1)::int AS accounts,
            (SELECT count(*) FROM transfers WHERE tenant_id = $1)::int AS transfers,
            (SELECT count(*) FROM topups WHERE tenant_id = $1)::int AS topups,
            (SELECT count(*) FROM ledger_transactions WHERE tenant_id = $1)::int AS ledger_transactions,
            (SELECT count(*) FROM holds WHERE tenant_id = $1)::int AS holds,
            (SELECT count(*) FROM idempotency_keys WHERE scope = $1)::int AS idempotency_keys`,
    [tenantId],
  );
  return rows[0];
}

const actorSigningKeys = new Map<string, Promise<{ keyId: string; secret: string }>>();

/**
 * A `Steadfast-Actor` token naming `sub` for a tenant (contract §0), signed with a signing key
 * created through the API once per tenant.
 *
 * @example await call('POST', `/v1/leave-requests/${id}/approve`, { body: {}, headers: await actorHeaders(tenant, managerId) })
 */
export async function actorToken(tenant: { id: string; call: Call }, sub: string): Promise<string> {
  let key = actorSigningKeys.get(tenant.id);
  if (!key) {
    key = tenant.call('POST', '/v1/actor-signing-keys').then((res) => {
      if (res.status !== 201) throw new Error(`actor signing key creation failed: ${JSON.stringify(res.body)}`);
      return { keyId: res.body.id as string, secret: res.body.secret as string };
    });
    key.catch(() => actorSigningKeys.delete(tenant.id));
    actorSigningKeys.set(tenant.id, key);
  }
  return mintActorToken({ ...(await key), sub });
}

/** `{ 'steadfast-actor': <token> }` for a request's headers. */
export async function actorHeaders(tenant: { id: string; call: Call }, sub: string): Promise<Record<string, string>> {
  return { 'steadfast-actor': await actorToken(tenant, sub) };
}

/**
 * The tenants the running test makes, each held to a clean ledger audit after the test (other files
 * write to the same ledger meanwhile, so the audit covers these only). Call once at the top of a
 * file; the returned function makes a tenant through `harness` (the file's, unless another is given).
 *
 * @example const newTenant = auditedTenants(() => h); … const tenant = await newTenant();
 */
export function auditedTenants(fileHarness: () => Harness) {
  let ofTest: string[] = [];
  afterEach(async () => {
    const tenants = ofTest;
    ofTest = [];
    // Through the file's harness: another one a test made (same database) may be closed by now.
    for (const tenantId of tenants) expect((await auditLedger(fileHarness().pool, { tenantId })).problems).toEqual([]);
  });
  return async (name?: string, harness: Harness = fileHarness()) => {
    const tenant = await harness.newTenant(name);
    ofTest.push(tenant.id);
    return tenant;
  };
}
