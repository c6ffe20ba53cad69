import type { Worker, NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { createPaymentActivities, createSettlementActivities } from '../activities/payments/payment-activities.js';
import type { ProcessorRouter } from '../activities/payments/processors/index.js';
import { createDomainWorker } from './domain-worker.js';
import type { WorkerLimits } from './domain-worker.js';

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
export function createPaymentsWorker(options: PaymentsWorkerOptions): Promise<Worker> {
  const activities = { ...createPaymentActivities({ pool: options.pool, router: options.router }), ...createSettlementActivities({ pool: options.pool }) };
  return createDomainWorker({ ...options, activities });
}
