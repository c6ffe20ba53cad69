import type { Worker, NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { createLeaveActivities } from '../activities/hr/leave-activities.js';
import { createDomainWorker } from './domain-worker.js';
import type { WorkerLimits } from './domain-worker.js';

export interface HrWorkerOptions extends WorkerLimits {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: pg.Pool;
  workflowBundlePath?: string;
}

/** The worker of the HR task queue: leave approvals. */
export function createHrWorker(options: HrWorkerOptions): Promise<Worker> {
  return createDomainWorker({ ...options, activities: createLeaveActivities({ pool: options.pool }) });
}
