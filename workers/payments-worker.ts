import { Worker, type NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { createPaymentActivities, createSettlementActivities } from '../activities/payments/payment-activities.js';
import type { ProcessorRouter } from '../activities/payments/processors/index.js';
import { workflowSource, type WorkerLimits } from './wallet-worker.js';

export interface PaymentsWorkerOptions extends WorkerLimits {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: pg.Pool;
  /** One router per worker process: its circuit breakers are shared by every payment. */
  router: ProcessorRouter;
  workflowBundlePath?: string;
}

/** The worker of the payments task queue: the payment saga, its steps, and the settlement run. */
export async function createPaymentsWorker(options: PaymentsWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: { ...createPaymentActivities({ pool: options.pool, router: options.router }), ...createSettlementActivities({ pool: options.pool }) },
    ...workflowSource(options.workflowBundlePath),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions,
    shutdownGraceTime: options.shutdownGraceTimeMs,
  });
}
