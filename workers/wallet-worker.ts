import { fileURLToPath } from 'node:url';
import type { NativeConnection} from '@temporalio/worker';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import type pg from 'pg';
import { createWalletActivities } from '../activities/wallet/index.js';
import { createSimulatedBank } from '../activities/bank/simulated-bank.js';
import type { BankAdapter } from '../activities/bank/bank-adapter.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerLimits {
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
  shutdownGraceTimeMs: number;
}

/** A prebuilt bundle (tests bundle once per run), else the workflows are bundled at start. */
export function workflowSource(bundlePath: string | undefined): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  return bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH };
}

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
export async function createWalletWorker(options: WalletWorkerOptions): Promise<Worker> {
  const activities = createWalletActivities({
    pool: options.pool,
    bank: options.bank ?? createSimulatedBank(options.pool),
    faultDelayBeforePostMs: options.faultDelayBeforePostMs ?? 0,
  });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities,
    ...workflowSource(options.workflowBundlePath),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions,
    shutdownGraceTime: options.shutdownGraceTimeMs,
  });
}
