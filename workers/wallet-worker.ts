import type { NativeConnection, Worker } from '@temporalio/worker';
import type pg from 'pg';
import { createWalletActivities } from '../activities/wallet/index.js';
import { createSimulatedBank } from '../activities/bank/simulated-bank.js';
import type { BankAdapter } from '../activities/bank/bank-adapter.js';
import { createDomainWorker, type WorkerLimits } from './domain-worker.js';

export interface WalletWorkerOptions extends WorkerLimits {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: pg.Pool;
  bank?: BankAdapter;
  /** A prebuilt bundle (tests bundle once per run); else the workflows are bundled at start. */
  workflowBundlePath?: string;
  faultDelayBeforePostMs?: number;
}

/** The worker of the wallet task queue: top-ups and P2P transfers. */
export function createWalletWorker(options: WalletWorkerOptions): Promise<Worker> {
  const activities = createWalletActivities({
    pool: options.pool,
    bank: options.bank ?? createSimulatedBank(options.pool),
    faultDelayBeforePostMs: options.faultDelayBeforePostMs ?? 0,
  });
  return createDomainWorker({ ...options, activities });
}
