import { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { workflowBundlePath } from './workflow-bundle.js';
import { ConfigError, loadConfig, taskQueues } from '../platform/config.js';
import { workerConnectionOptions } from '../platform/temporal-connection.js';
import { workflowContracts } from '../workflows/contracts.js';
import { createPool } from '../store/db.js';
import { secretBoxOf } from '../platform/config-security.js';
import { sealClearWebhookSecrets } from '../store/notifications/webhook-endpoints.js';
import type pg from 'pg';
import type { Config } from '../platform/config.js';
import { eventWorkflowSettings } from '../platform/notification-settings.js';
import { startOutboxRelay } from './outbox-relay.js';
import { startStartReconciler } from './start-reconciler.js';
import { startMetricsServer } from './metrics-server.js';
import { workerReadiness } from './health.js';
import { installRuntime } from './sdk-metrics.js';
import { createOutboundLimiterFromConfig } from '../platform/rate-limit/outbound.js';
import { createCacheFromConfig } from '../platform/cache/index.js';
import { resolveRedisMode, SINGLE_INSTANCE_SUMMARY } from '../platform/redis-mode.js';
import { createWorkers } from './registry.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { childLogger, setLogService } from '../platform/log.js';
import { temporalLogger } from '../platform/temporal-logger.js';
import { ensureSettlementSchedule } from './settlement-schedule.js';
import { deploymentVersionOf, promoteOnStart, versionKey } from '../platform/worker-deployment.js';
import { startTracing } from '../platform/telemetry/tracing.js';
import { tracingClientInterceptors } from '../platform/telemetry/temporal.js';

setLogService('worker');
const log = childLogger({ component: 'main' });

/**
 * Worker process: polls the wallet, payments, HR and notification task queues (one per channel and
 * priority), runs the outbox relay and the start reconciler and serves its /metrics, until
 * SIGINT/SIGTERM; then stops the relay and the reconciler, drains (in-flight activities get
 * WORKER_SHUTDOWN_GRACE_MS to finish) and closes its connections. One Temporal connection serves the
 * workers and the process's own client (settlement schedule, promotion, relay, reconciler): the
 * relay's starts can then be eager (the first workflow task comes back with the start's answer).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  // First: spans of everything below (off, installing nothing, without OTEL_EXPORTER_OTLP_ENDPOINT).
  const tracing = startTracing(config, { serviceName: 'steadfast-worker' });
  // Redis serves the outbound limits and the cache here; still decided first: several instances without Redis stop here.
  const redisMode = await resolveRedisMode(config);
  if (redisMode.mode === 'none') log.warn({ reason: redisMode.reason }, SINGLE_INSTANCE_SUMMARY);
  // The SDK's lines (activities' and workflows' with their ids too) go through our logger; it logs a
  // failed activity with its error object, written as serializeError writes it (a database error's
  // detail holds row data). The core's (Rust) lines are forwarded from WARN. With a /metrics, the SDK
  // exports its own (temporal_*) on a private loopback port, appended to ours.
  const sdkMetricsUrl = await installRuntime({
    logger: temporalLogger(),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  }, { sdkMetrics: config.WORKER_METRICS_PORT > 0 });
  const pool = createPool(config.DATABASE_URL, config.DB_POOL_MAX);
  const connection = await NativeConnection.connect(workerConnectionOptions(config));
  const client = new Client({
    connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config), interceptors: tracingClientInterceptors(),
  });
  // Calls per provider are capped across every worker process (OUTBOUND_RATE_LIMITS).
  const outbound = createOutboundLimiterFromConfig(config, { redisMode });
  // Notification preferences are read through the cache, which must hear the API's invalidations:
  // over Redis only. Without it the API is another process, whose invalidations cannot reach an L1
  // here: preferences are then read from PostgreSQL at each plan and attempt.
  const redis = redisMode.mode === 'external'
    ? new Redis(redisMode.url, { commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 })
    : null;
  redis?.on('error', (err) => log.error({ err }, 'redis connection error'));
  const cache = redis ? createCacheFromConfig(redis, config) : undefined;
  let closeActivities: () => Promise<void> = async () => undefined;
  let relay: { stop(): Promise<void> } | null = null;
  let reconciler: { stop(): Promise<void> } | null = null;
  let metricsServer: { url: string; close(): Promise<void> } | null = null;
  let polling: readonly Worker[] = [];
  try {
    if (config.WORKER_METRICS_PORT > 0) {
      // Up first, so /healthz answers while the workers start; /readyz says when they poll.
      const readiness = workerReadiness({ pool, temporal: client, workers: () => polling });
      metricsServer = await startMetricsServer({ host: config.HOST, port: config.WORKER_METRICS_PORT, sdkMetricsUrl, readiness });
      log.info({ url: metricsServer.url }, 'metrics served (health: /healthz, /readyz)');
    }
    // Before any delivery: webhook secrets written in clear before migration 0010 are sealed.
    const sealed = await sealClearWebhookSecrets(pool, secretBoxOf(config));
    if (sealed > 0) log.info({ sealed }, 'sealed webhook secrets stored in clear');
    if (config.SETTLEMENT_SCHEDULE_ENABLED) await scheduleSettlement(config, client);
    const bundle = await workflowBundlePath(config.WORKFLOW_BUNDLE_PATH);
    if (bundle.source === 'built') log.info({ path: bundle.path }, 'workflow bundle built by npm run build');
    const { workers, queues, close } = await createWorkers({ config, connection, pool, outbound, cache, workflowBundlePath: bundle.path, tracing });
    closeActivities = close;
    log.info({ taskQueues: queues, address: config.TEMPORAL_ADDRESS }, 'polling');
    relay = config.OUTBOX_RELAY_ENABLED ? await startRelay(config, pool, client) : null;
    reconciler = config.START_RECONCILER_ENABLED ? await startReconciler(config, pool, client) : null;
    // Worker.run() installs SIGINT/SIGTERM handlers that start a graceful shutdown.
    const running = Promise.all(workers.map((worker) => worker.run()));
    polling = workers;
    await Promise.race([running, promoteVersion(config, client)]);
    await running;
    log.info('drained and stopped');
  } finally {
    await relay?.stop();
    await reconciler?.stop();
    await metricsServer?.close();
    await closeActivities();
    await outbound.close();
    cache?.close();
    await redis?.quit().catch(() => redis.disconnect());
    // Workers created but never run (a start-up step failed) still hold it: that error must not hide the first one.
    await connection.close().catch((err: unknown) => log.warn({ err }, 'Temporal connection not closed'));
    await pool.end();
    await tracing.shutdown(); // last: the spans of the activities that just drained
  }
}

async function scheduleSettlement(config: Config, client: Client): Promise<void> {
  await ensureSettlementSchedule(client, {
    scheduleId: 'settlement', taskQueue: taskQueues(config)[workflowContracts.settlementRun.queue],
    intervalMs: config.SETTLEMENT_INTERVAL, lagMs: config.SETTLEMENT_LAG, batchLimit: config.SETTLEMENT_BATCH_LIMIT,
  });
}

/**
 * Once the workers poll, this build's Worker Deployment Version becomes current if
 * WORKER_PROMOTE_ON_START says so (platform/worker-deployment.ts). A refusal is logged, not fatal:
 * the workers keep serving the runs already on their version.
 */
async function promoteVersion(config: Config, client: Client): Promise<void> {
  const version = versionKey(deploymentVersionOf(config));
  if (!config.WORKER_VERSIONING) {
    log.info('polling unversioned (WORKER_VERSIONING=false)');
    return;
  }
  try {
    const { result, current } = await promoteOnStart(client, config);
    log.info({ version, result, current: current ?? null }, `version ${result.replaceAll('_', ' ')}`);
  } catch (err) {
    log.error({ version, err }, `version could not be made current; set it with \`npm run ops -- deployment set-current ${config.WORKER_BUILD_ID}\``);
  }
}

/** The outbox relay runs beside the workers: it stops (first) when they drain. */
async function startRelay(config: Config, pool: pg.Pool, client: Client) {
  const relay = await startOutboxRelay({
    pool, databaseUrl: config.DATABASE_URL, temporal: client,
    // This process polls the event workflows' queue on the client's connection (createWorkers).
    eagerStart: true,
    batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_INTERVAL,
    taskQueue: taskQueues(config)[workflowContracts.domainEvent.queue],
    retentionMs: config.OUTBOX_RETENTION,
    eventInput: eventWorkflowSettings(config),
    faultDelayBeforeCommitMs: config.OUTBOX_FAULT_DELAY_BEFORE_COMMIT_MS,
  });
  process.once('SIGTERM', () => void relay.stop());
  process.once('SIGINT', () => void relay.stop());
  log.info('outbox relay listening');
  return relay;
}

/** The start reconciler runs beside the workers: rows left without a run get one (workers/start-reconciler.ts). */
async function startReconciler(config: Config, pool: pg.Pool, client: Client) {
  const reconciler = startStartReconciler({ pool, config, temporal: client });
  process.once('SIGTERM', () => void reconciler.stop());
  process.once('SIGINT', () => void reconciler.stop());
  log.info({ intervalMs: config.RECONCILE_INTERVAL_MS }, 'start reconciler running');
  return reconciler;
}

main().catch((err) => {
  // A refused environment (a bad variable; no Redis where one is required) is its message naming the fix, not a stack.
  if (err instanceof ConfigError) log.fatal(err.message);
  else log.fatal({ err }, 'fatal');
  process.exit(1);
});
