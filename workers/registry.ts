import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection, Worker, WorkerDeploymentOptions } from '@temporalio/worker';
import type pg from 'pg';
import { createChannelSenders } from '../activities/notifications/channels/index.js';
import { digestStarter } from './digest-starter.js';
import { createProcessorRouterFromConfig } from '../activities/payments/processors/index.js';
import type { Cache } from '../platform/cache/index.js';
import { taskQueues, type Config } from '../platform/config.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { workerDeploymentOptionsOf } from '../platform/worker-deployment.js';
import type { OutboundLimiter } from '../platform/rate-limit/outbound.js';
import type { Tracing } from '../platform/telemetry/tracing.js';
import { tracingClientInterceptors } from '../platform/telemetry/temporal.js';
import { childLogger } from '../platform/log.js';
import type { TaskQueues } from '../workflows/contracts.js';
import { leaveRunsOf } from '../workflows/hr/leave-runs.js';
import { createSimulatedBank } from '../activities/bank/simulated-bank.js';
import type { AfterCommitFault } from '../activities/fault-injection.js';
import { createLeaveActivities } from '../activities/hr/leave-activities.js';
import { createPayrollActivities } from '../activities/payroll/payroll-activities.js';
import { createRecruitmentActivities } from '../activities/hr/recruitment-activities.js';
import { createOffboardingActivities } from '../activities/hr/offboarding-activities.js';
import { createReviewCycleActivities } from '../activities/hr/review-activities.js';
import { createPaymentActivities, createSettlementActivities } from '../activities/payments/payment-activities.js';
import { createRiskActivities } from '../activities/risk/risk-activities.js';
import { createWalletActivities } from '../activities/wallet/index.js';
import { createDomainWorker, type WorkerLimits } from './domain-worker.js';
import { createNotificationWorkers } from './notifications-worker.js';

/** What every domain's workers are built from; the process (or a test, a benchmark) owns these. */
export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  pool: pg.Pool;
  /** A prebuilt workflow bundle (one per process or test run); absent: each worker bundles at start. */
  workflowBundlePath?: string | undefined;
  /** Calls per provider capped across every worker process (OUTBOUND_RATE_LIMITS); absent: no cap. */
  outbound?: OutboundLimiter;
  /**
   * The process's cache (notification preferences are read through it). It must hear the
   * invalidations of the API that writes them: a cache on the shared Redis, or, in one process
   * without Redis, one on the API's key prefix. Absent: preferences are read from PostgreSQL.
   */
  cache?: Cache;
  /** Absent: WORKER_MAX_CONCURRENT_* and WORKER_SHUTDOWN_GRACE_MS from the config. */
  limits?: WorkerLimits;
  /** The process's tracing (platform/telemetry/tracing.ts startTracing): workflow spans go to its processor. */
  tracing?: Tracing;
}

interface DomainWorkers {
  workers: Worker[];
  /** Closes what the domain's activities opened (an SMTP pool); called after the workers stopped. */
  close?: () => void | Promise<void>;
}

type Common = WorkerLimits & Pick<WorkerDeps, 'connection' | 'pool' | 'workflowBundlePath' | 'tracing'> & {
  namespace: string; dataConverter: DataConverter; workerDeploymentOptions: WorkerDeploymentOptions | undefined;
};

/**
 * THE list of workers, one entry per task queue role (workflows/contracts.ts names the roles):
 * `workers/main.ts`, the test harness and the benchmarks all start their workers from here.
 */
const offboardingLog = childLogger({ component: 'offboarding' });

const DOMAINS = {
  /** Top-ups and P2P transfers. */
  wallet: async (deps, common) => ({
    workers: [await createDomainWorker({
      ...common, taskQueue: deps.config.TASK_QUEUE_WALLET,
      activities: {
        ...createRiskActivities({ pool: deps.pool }),
        ...createWalletActivities({
          pool: deps.pool, bank: createSimulatedBank(deps.pool), faultDelayBeforePostMs: deps.config.FAULT_DELAY_BEFORE_POST_MS,
          faultAfterCommit: afterCommitFault(deps.config),
        }),
      },
    })],
  }),
  /** The payment saga, its steps, and the settlement run. */
  payments: async (deps, common) => {
    // One router per process: its circuit breakers are shared by every payment.
    const router = createProcessorRouterFromConfig(deps.config, { pool: deps.pool, ...(deps.outbound ? { outbound: deps.outbound } : {}) });
    return {
      workers: [await createDomainWorker({
        ...common, taskQueue: deps.config.TASK_QUEUE_PAYMENTS,
        activities: {
          ...createPaymentActivities({ pool: deps.pool, router, faultAfterCommit: afterCommitFault(deps.config) }),
          ...createSettlementActivities({ pool: deps.pool }),
          ...createRiskActivities({ pool: deps.pool }),
        },
      })],
    };
  },
  /** Leave approvals, offboarding (whose steps call the leave runs' Updates: a client on the worker's connection) and payroll runs. */
  hr: async (deps, common) => {
    const temporal = new Client({
      connection: deps.connection, namespace: common.namespace, dataConverter: common.dataConverter, interceptors: tracingClientInterceptors(),
    });
    return {
      workers: [await createDomainWorker({
        ...common, taskQueue: deps.config.TASK_QUEUE_HR,
        activities: {
          ...createLeaveActivities({ pool: deps.pool }), ...createOffboardingActivities({ pool: deps.pool, leaveRuns: leaveRunsOf({ temporal, log: offboardingLog }) }),
          ...createPayrollActivities({ pool: deps.pool, faultAfterCommit: afterCommitFault(deps.config) }),
          ...createRecruitmentActivities({ pool: deps.pool }),
          ...createReviewCycleActivities({ pool: deps.pool }),
        },
      })],
    };
  },
  /** The notification workflows, and an activity worker per channel and priority. */
  notifications: async (deps, common) => {
    const senders = createChannelSenders(deps.config);
    // Held e-mails start their digest's run from the attempt (a client on the worker's connection).
    const temporal = new Client({
      connection: deps.connection, namespace: common.namespace, dataConverter: common.dataConverter, interceptors: tracingClientInterceptors(),
    });
    const digests = {
      starter: digestStarter({ temporal, taskQueue: deps.config.TASK_QUEUE_NOTIFICATIONS }), messagesMax: deps.config.DIGEST_MESSAGES_MAX,
    };
    return {
      workers: await createNotificationWorkers({
        ...common, taskQueue: deps.config.TASK_QUEUE_NOTIFICATIONS, senders, cache: deps.cache, digests,
        ...(deps.outbound ? { outbound: deps.outbound } : {}),
        pollers: { high: deps.config.NOTIFICATION_POLLERS_HIGH, normal: deps.config.NOTIFICATION_POLLERS_NORMAL },
      }),
      close: async () => {
        await senders.push.close();
        senders.email.close();
      },
    };
  },
} satisfies Record<keyof TaskQueues, (deps: WorkerDeps, common: Common) => Promise<DomainWorkers>>;

/** Fault injection for crash drills and tests (FAULT_DELAY_AFTER_COMMIT_MS, FAULT_AFTER_COMMIT_STEPS); off by default. */
function afterCommitFault(config: Config): AfterCommitFault {
  return { delayMs: config.FAULT_DELAY_AFTER_COMMIT_MS, steps: config.FAULT_AFTER_COMMIT_STEPS };
}

export type WorkerDomain = keyof typeof DOMAINS;
export const WORKER_DOMAINS = Object.keys(DOMAINS) as WorkerDomain[];

export interface StartedWorkers {
  workers: Worker[];
  /** The task queues they poll (delivery queues of notifications as `<prefix>(-*)`), for logs. */
  queues: string[];
  /** Closes what the activities opened; call it after every worker has stopped. */
  close(): Promise<void>;
}

/** Creates the workers of `domains` (all by default); run them with `worker.run()`. */
export async function createWorkers(deps: WorkerDeps, domains: readonly WorkerDomain[] = WORKER_DOMAINS): Promise<StartedWorkers> {
  const common: Common = {
    connection: deps.connection,
    namespace: deps.config.TEMPORAL_NAMESPACE,
    pool: deps.pool,
    workflowBundlePath: deps.workflowBundlePath,
    tracing: deps.tracing,
    dataConverter: dataConverterOf(deps.config),
    // Every worker (each queue, each domain) polls as this build's Worker Deployment Version.
    workerDeploymentOptions: workerDeploymentOptionsOf(deps.config),
    ...(deps.limits ?? {
      maxConcurrentActivityTaskExecutions: deps.config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: deps.config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      shutdownGraceTimeMs: deps.config.WORKER_SHUTDOWN_GRACE_MS,
    }),
  };
  const started: DomainWorkers[] = [];
  const close = async () => {
    for (const domain of started) await domain.close?.();
  };
  try {
    for (const domain of domains) started.push(await DOMAINS[domain](deps, common));
  } catch (err) {
    await close();
    throw err;
  }
  const queues = taskQueues(deps.config);
  return {
    workers: started.flatMap((domain) => domain.workers),
    queues: domains.map((domain) => (domain === 'notifications' ? `${queues[domain]}(-*)` : queues[domain])),
    close,
  };
}
