import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, requireAdminKey } from '../platform/config.js';
import { resolveRedisMode, SINGLE_INSTANCE_SUMMARY } from '../platform/redis-mode.js';
import { clientConnectionOptions } from '../platform/temporal-connection.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { createPool } from '../store/db.js';
import { createApiRateLimiter } from '../platform/rate-limit/index.js';
import { createApp } from './app.js';
import { createInboxListener, streamLimitsOf } from './notifications/inbox-listener.js';
import { purgeExpiredIdempotencyKeys } from '../store/idempotency/idempotency-keys.js';
import { childLogger, setLogService } from '../platform/log.js';
import { startTracing } from '../platform/telemetry/tracing.js';
import { tracingClientInterceptors } from '../platform/telemetry/temporal.js';

const PURGE_INTERVAL_MS = 60 * 60 * 1000;
setLogService('api');
const log = childLogger({ component: 'main' });

/** API process: serves until SIGINT/SIGTERM, then stops accepting, finishes open requests, closes. */
async function main(): Promise<void> {
  const config = loadConfig();
  // First: spans of everything below (off, installing nothing, without OTEL_EXPORTER_OTLP_ENDPOINT).
  const tracing = startTracing(config, { serviceName: 'steadfast-api' });
  const adminApiKey = requireAdminKey(config);
  const pool = createPool(config.DATABASE_URL, config.DB_POOL_MAX);
  // Only the audit logs and the ledger audit read here (api/context.ts `readPool`); unset: the primary's pool.
  const readPool = config.DATABASE_READ_URL ? createPool(config.DATABASE_READ_URL, config.DB_READ_POOL_MAX) : undefined;
  // Before any connection: a REDIS_URL that does not answer, or several instances without Redis, stop here.
  const redisMode = await resolveRedisMode(config);
  const redis = redisMode.mode === 'external'
    ? new Redis(redisMode.url, { commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 })
    : null;
  redis?.on('error', (err) => log.error({ err }, 'redis connection error'));
  if (redisMode.mode === 'none') log.warn({ reason: redisMode.reason }, SINGLE_INSTANCE_SUMMARY);
  const connection = await Connection.connect(clientConnectionOptions(config));
  const temporal = new Client({
    connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config), interceptors: tracingClientInterceptors(),
  });
  const rateLimiter = config.RATE_LIMIT_ENABLED ? createApiRateLimiter(config, { redis }) : undefined;
  // One LISTEN connection per process feeds every SSE inbox stream.
  const inboxListener = createInboxListener({ connectionString: config.DATABASE_URL, ...streamLimitsOf(config) });
  const app = createApp({ config, adminApiKey, pool, readPool, redis, temporal, rateLimiter, inboxListener });

  const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) =>
    log.info({ url: `http://${config.HOST}:${info.port}` }, 'listening'),
  );
  const purge = setInterval(() => {
    purgeExpiredIdempotencyKeys(pool, config.IDEMPOTENCY_RETENTION_HOURS).catch((err) =>
      log.error({ err }, 'idempotency purge failed'),
    );
  }, PURGE_INTERVAL_MS);
  purge.unref();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'no longer accepting, finishing open requests');
    clearInterval(purge);
    // Ends the open SSE streams, so that the server can close.
    void inboxListener.close();
    server.close(() => {
      void Promise.allSettled([pool.end(), readPool?.end(), redis?.quit(), connection.close(), rateLimiter?.close()]).then(async () => {
        await tracing.shutdown(); // last: the spans of the requests that just finished
        log.info('stopped');
        process.exit(0);
      });
    });
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err) => {
  // A refused environment (a bad variable; no Redis where one is required) is its message naming the fix, not a stack.
  if (err instanceof ConfigError) log.fatal(err.message);
  else log.fatal({ err }, 'fatal');
  process.exit(1);
});
