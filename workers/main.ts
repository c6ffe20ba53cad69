import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createProcessorRouterFromConfig } from '../activities/payments/processors/index.js';
import { loadConfig } from '../platform/config.js';
import { createPool } from '../platform/db.js';
import { createHrWorker } from './hr-worker.js';
import { createPaymentsWorker } from './payments-worker.js';
import { ensureSettlementSchedule } from './settlement-schedule.js';
import { createWalletWorker } from './wallet-worker.js';

/**
 * Worker process: polls the wallet, payments and HR task queues until SIGINT/SIGTERM, then drains
 * (in-flight activities get WORKER_SHUTDOWN_GRACE_MS to finish) and closes its connections.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const pool = createPool(config.DATABASE_URL, config.DB_POOL_MAX);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const common = {
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    pool,
    workflowBundlePath: config.WORKFLOW_BUNDLE_PATH,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    shutdownGraceTimeMs: config.WORKER_SHUTDOWN_GRACE_MS,
  };
  try {
    if (config.SETTLEMENT_SCHEDULE_ENABLED) await scheduleSettlement(config);
    const workers = [
      await createWalletWorker({ ...common, taskQueue: config.TASK_QUEUE_WALLET, faultDelayBeforePostMs: config.FAULT_DELAY_BEFORE_POST_MS }),
      await createPaymentsWorker({ ...common, taskQueue: config.TASK_QUEUE_PAYMENTS, router: createProcessorRouterFromConfig(config, { pool }) }),
      await createHrWorker({ ...common, taskQueue: config.TASK_QUEUE_HR }),
    ];
    const queues = [config.TASK_QUEUE_WALLET, config.TASK_QUEUE_PAYMENTS, config.TASK_QUEUE_HR].map((q) => `"${q}"`).join(', ');
    console.log(`[worker] polling ${queues} on ${config.TEMPORAL_ADDRESS}`);
    // Worker.run() installs SIGINT/SIGTERM handlers that start a graceful shutdown.
    await Promise.all(workers.map((worker) => worker.run()));
    console.log('[worker] drained and stopped');
  } finally {
    await connection.close();
    await pool.end();
  }
}

async function scheduleSettlement(config: ReturnType<typeof loadConfig>): Promise<void> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await ensureSettlementSchedule(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }), {
      scheduleId: 'settlement', taskQueue: config.TASK_QUEUE_PAYMENTS,
      intervalMs: config.SETTLEMENT_INTERVAL, lagMs: config.SETTLEMENT_LAG, batchLimit: config.SETTLEMENT_BATCH_LIMIT,
    });
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error('[worker] fatal', err);
  process.exit(1);
});
