import { Client } from '@temporalio/client';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, NativeConnection } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './domain-worker.js';
import { loadConfig, taskQueues } from '../platform/config.js';
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
import { installRuntime } from './sdk-metrics.js';
import { createOutboundLimiterFromConfig } from '../platform/rate-limit/outbound.js';
import { createWorkers } from './registry.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { describeError, safeLogFunction } from '../platform/safe-error.js';
import { ensureSettlementSchedule } from './settlement-schedule.js';
import { deploymentVersionOf, promoteOnStart, versionKey } from '../platform/worker-deployment.js';

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
  // The SDK logs a failed activity with its error object; a database error's detail holds row data.
  // With a /metrics, the SDK exports its own (temporal_*) on a private loopback port, appended to ours.
  const sdkMetricsUrl = await installRuntime({ logger: new DefaultLogger('INFO', safeLogFunction) }, { sdkMetrics: config.WORKER_METRICS_PORT > 0 });
  const pool = createPool(config.DATABASE_URL, config.DB_POOL_MAX);
  const connection = await NativeConnection.connect(workerConnectionOptions(config));
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config) });
  // Calls per provider are capped across every worker process (OUTBOUND_RATE_LIMITS).
  const outbound = createOutboundLimiterFromConfig(config);
  let closeActivities: () => Promise<void> = async () => undefined;
  let relay: { stop(): Promise<void> } | null = null;
  let reconciler: { stop(): Promise<void> } | null = null;
  let metricsServer: { url: string; close(): Promise<void> } | null = null;
  try {
    // Before any delivery: webhook secrets written in clear before migration 0010 are sealed.
    const sealed = await sealClearWebhookSecrets(pool, secretBoxOf(config));
    if (sealed > 0) console.log(`[worker] sealed ${sealed} webhook secret(s) stored in clear`);
    if (config.SETTLEMENT_SCHEDULE_ENABLED) await scheduleSettlement(config, client);
    const { workers, queues, close } = await createWorkers({
      config, connection, pool, outbound, workflowBundlePath: config.WORKFLOW_BUNDLE_PATH ?? await bundleOnce(),
    });
    closeActivities = close;
    console.log(`[worker] polling ${queues.map((q) => `"${q}"`).join(', ')} on ${config.TEMPORAL_ADDRESS}`);
    relay = config.OUTBOX_RELAY_ENABLED ? await startRelay(config, pool, client) : null;
    reconciler = config.START_RECONCILER_ENABLED ? await startReconciler(config, pool, client) : null;
    if (config.WORKER_METRICS_PORT > 0) {
      metricsServer = await startMetricsServer({ host: config.HOST, port: config.WORKER_METRICS_PORT, sdkMetricsUrl });
      console.log(`[worker] metrics on ${metricsServer.url}`);
    }
    // Worker.run() installs SIGINT/SIGTERM handlers that start a graceful shutdown.
    const running = Promise.all(workers.map((worker) => worker.run()));
    await Promise.race([running, promoteVersion(config, client)]);
    await running;
    console.log('[worker] drained and stopped');
  } finally {
    await relay?.stop();
    await reconciler?.stop();
    await metricsServer?.close();
    await closeActivities();
    await outbound.close();
    await connection.close();
    await pool.end();
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
    console.log('[worker] polling unversioned (WORKER_VERSIONING=false)');
    return;
  }
  try {
    const { result, current } = await promoteOnStart(client, config);
    console.log(`[worker] version ${version}: ${result.replaceAll('_', ' ')} (current: ${current ?? 'none'})`);
  } catch (err) {
    console.error(`[worker] version ${version} could not be made current: ${describeError(err)}; set it with \`npm run ops -- deployment set-current ${config.WORKER_BUILD_ID}\``);
  }
}

/** The workflow code bundled once for every workflow worker of the process (not once per queue). */
async function bundleOnce(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
  const path = join(mkdtempSync(join(tmpdir(), 'steadfast-worker-')), 'workflow-bundle.js');
  writeFileSync(path, code);
  return path;
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
  console.log('[worker] outbox relay listening');
  return relay;
}

/** The start reconciler runs beside the workers: rows left without a run get one (workers/start-reconciler.ts). */
async function startReconciler(config: Config, pool: pg.Pool, client: Client) {
  const reconciler = startStartReconciler({ pool, config, temporal: client });
  process.once('SIGTERM', () => void reconciler.stop());
  process.once('SIGINT', () => void reconciler.stop());
  console.log(`[worker] start reconciler every ${config.RECONCILE_INTERVAL_MS} ms`);
  return reconciler;
}

main().catch((err) => {
  console.error(`[worker] fatal: ${describeError(err)}`);
  process.exit(1);
});
