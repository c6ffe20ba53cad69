import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../platform/config.js';
import { createPool } from '../platform/db.js';
import { createWalletWorker } from './wallet-worker.js';

/**
 * Worker process: polls the wallet task queue until SIGINT/SIGTERM, then drains (in-flight
 * activities get WORKER_SHUTDOWN_GRACE_MS to finish) and closes its connections.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const pool = createPool(config.DATABASE_URL, config.DB_POOL_MAX);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const worker = await createWalletWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TASK_QUEUE_WALLET,
      pool,
      workflowBundlePath: config.WORKFLOW_BUNDLE_PATH,
      maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      shutdownGraceTimeMs: config.WORKER_SHUTDOWN_GRACE_MS,
      faultDelayBeforePostMs: config.FAULT_DELAY_BEFORE_POST_MS,
    });
    console.log(`[worker] polling task queue "${config.TASK_QUEUE_WALLET}" on ${config.TEMPORAL_ADDRESS}`);
    // Worker.run() installs SIGINT/SIGTERM handlers that start a graceful shutdown.
    await worker.run();
    console.log('[worker] drained and stopped');
  } finally {
    await connection.close();
    await pool.end();
  }
}

main().catch((err) => {
  console.error('[worker] fatal', err);
  process.exit(1);
});
