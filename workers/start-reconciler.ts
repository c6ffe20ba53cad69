import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { taskQueues, type Config } from '../platform/config.js';
import { metrics } from '../platform/metrics.js';
import { broadcastWorkflowInput, notificationRetry, webhookRetry } from '../platform/notification-settings.js';
import { classifyStartError } from '../platform/start-errors.js';
import { findEmployee } from '../store/hr/employees.js';
import { findLeaveRequest } from '../store/hr/leave.js';
import { findBroadcast } from '../store/notifications/broadcasts.js';
import { getDelivery } from '../store/notifications/deliveries.js';
import { getDigest } from '../store/notifications/digests.js';
import { getNotification } from '../store/notifications/notifications.js';
import { findPayment } from '../store/payments/payments.js';
import { findPayrollRun } from '../store/payroll/runs.js';
import { findInterview } from '../store/hr/interviews.js';
import { findOffer } from '../store/hr/offers.js';
import { findReviewCycle } from '../store/hr/review-cycles.js';
import { reviewCycleWorkflowInput } from '../platform/review-settings.js';
import {
  countUnstartedRows, isStillInitial, listUnstartedRows, markRunSeen, START_KINDS, type StartKind, type UnstartedRow,
} from '../store/start-requests.js';
import { findTopUpStart } from '../store/wallet/topups.js';
import { findTransfer } from '../store/wallet/transfers.js';
import { workflowContracts, workflowIdOf, type WorkflowContract, type WorkflowInput, type WorkflowName } from '../workflows/contracts.js';
import { BusinessStatus, TenantId } from '../workflows/search-attributes.js';
import { childLogger } from '../platform/log.js';

const log = childLogger({ component: 'start-reconciler' });

/**
 * The start reconciler: a business row is written before its workflow is started (and a dead
 * letter is requeued before its retry run starts), so a crash
 * between the two, or a start whose outcome is unknown (a deadline, a dropped connection: the API
 * keeps the row and answers 202), can leave a row in its initial status with no run. Every
 * RECONCILE_INTERVAL_MS it takes such rows older than RECONCILE_AFTER_MS (the API's own start has
 * had its chance) and describes their workflow id:
 * - no run: starts it from the row, with the id the API would have used (`started`);
 * - a run: nothing to do (`adopted`); closed while the row is still initial: `stuck`, logged for ops;
 * - the start refused: `failed`, logged (the row is looked at again next pass).
 * Starts use USE_EXISTING and REJECT_DUPLICATE like the API's, so a late API start, a second
 * reconciler process or a replayed pass all end on the one run: never two runs for one row.
 * A row whose run was found or started gets `run_seen_at` and is not looked at again.
 */

export type ReconcileResult = 'started' | 'adopted' | 'stuck' | 'failed';

export interface StartReconcilerOptions {
  pool: pg.Pool;
  temporal: Client;
  config: Config;
  /** Only these tenants' rows (tests share one database); all when absent. */
  tenantIds?: string[];
  /** Overrides RECONCILE_AFTER_MS (tests, the ops command). */
  afterMs?: number;
}

export type ReconcileReport = Record<StartKind, Record<ReconcileResult, number> & { unstarted: number }>;

/** A row's workflow: its contract and its input, rebuilt from the row (null: the row is gone). */
type StartOf = { [N in WorkflowName]: { contract: WorkflowContract<N>; input: WorkflowInput<N> } }[WorkflowName];

const startFromRow: Record<StartKind, (o: StartReconcilerOptions, row: UnstartedRow) => Promise<StartOf | null>> = {
  async transfer({ pool }, { id, tenantId }) {
    const t = await findTransfer(pool, tenantId, id);
    return t && {
      contract: workflowContracts.p2pTransfer,
      input: { tenantId, transferId: id, fromAccountId: t.fromAccountId, toAccountId: t.toAccountId, amountMinor: t.amountMinor, currency: t.currency },
    };
  },
  async topup({ pool }, { id, tenantId }) {
    const t = await findTopUpStart(pool, tenantId, id);
    return t && {
      contract: workflowContracts.topUp,
      input: { tenantId, topupId: id, accountId: t.accountId, amountMinor: t.amountMinor, currency: t.currency, source: t.source },
    };
  },
  async payment({ pool, config }, { id, tenantId }) {
    const p = await findPayment(pool, tenantId, id);
    if (!p) return null;
    const m = p.paymentMethod;
    const paymentMethod = m.type === 'wallet' ? { type: 'wallet' as const, accountId: m.walletAccountId! } : { type: m.type, token: m.token! };
    return {
      contract: workflowContracts.paymentSaga,
      input: {
        tenantId, paymentId: id, amountMinor: p.amountMinor, currency: p.currency, merchantAccountId: p.merchantAccountId,
        paymentMethod, captureMethod: p.captureMethod,
        // From this process's config, as the API takes them from its own (the same settings).
        authorizationTtlMs: config.AUTHORIZATION_TTL, refundWindowMs: config.REFUND_WINDOW,
      },
    };
  },
  async notification({ pool, config }, { id, tenantId }) {
    const n = await getNotification(pool, tenantId, id);
    return n && {
      contract: workflowContracts.notification,
      input: {
        tenantId, notificationId: id, priority: n.priority, critical: n.critical, scheduledAt: n.scheduled_at, channels: n.channels,
        retry: notificationRetry(config), deliveryQueuePrefix: config.TASK_QUEUE_NOTIFICATIONS,
      },
    };
  },
  async dead_letter_retry({ pool, config }, { id, key }) {
    const d = await getDelivery(pool, id);
    // Requeued again meanwhile (another round, another key): that round's row is looked at on its own.
    if (!d || `${d.id}-${d.retries}` !== key) return null;
    return {
      contract: workflowContracts.deadLetterRetry,
      input: {
        tenantId: d.tenant_id, deliveryId: d.id, channel: d.channel, priority: d.priority,
        retry: d.channel === 'webhook' ? webhookRetry(config) : notificationRetry(config), deliveryQueuePrefix: config.TASK_QUEUE_NOTIFICATIONS,
      },
    };
  },
  async broadcast({ pool, config }, { id, tenantId }) {
    const b = await findBroadcast(pool, tenantId, id);
    return b && {
      contract: workflowContracts.broadcast,
      input: broadcastWorkflowInput(config, b),
    };
  },
  async digest({ pool }, { id, tenantId }) {
    const d = await getDigest(pool, tenantId, id);
    return d && { contract: workflowContracts.digest, input: { tenantId, digestId: id, windowEnd: d.windowEnd.toISOString() } };
  },
  async offboarding({ pool }, { id, tenantId }) {
    const e = await findEmployee(pool, tenantId, id);
    return e?.terminationDate ? { contract: workflowContracts.offboarding, input: { tenantId, employeeId: id, terminationDate: e.terminationDate } } : null;
  },
  async payroll_run({ pool, config }, { id, tenantId }) {
    const r = await findPayrollRun(pool, tenantId, id);
    return r && {
      contract: workflowContracts.payrollRun,
      input: {
        tenantId, runId: id, createdBy: r.createdBy, payDate: r.payDate,
        batchSize: config.PAYROLL_BATCH_SIZE, parallelBatches: config.PAYROLL_PARALLEL_BATCHES, batchTimeoutMs: config.PAYROLL_BATCH_TIMEOUT,
        retryWindowMs: config.PAYROLL_RETRY_WINDOW,
      },
    };
  },
  async review_cycle({ pool, config }, { id, tenantId }) {
    const c = await findReviewCycle(pool, tenantId, id);
    return c && { contract: workflowContracts.reviewCycle, input: reviewCycleWorkflowInput(config, c) };
  },
  async offer({ pool }, { id, tenantId }) {
    const o = await findOffer(pool, tenantId, id);
    return o && { contract: workflowContracts.offer, input: { tenantId, offerId: id, approverId: o.approverId, expiresAt: o.expiresAt.toISOString() } };
  },
  async interview({ pool, config }, { id, tenantId }) {
    const i = await findInterview(pool, tenantId, id);
    return i && {
      contract: workflowContracts.interviewReminder,
      input: {
        tenantId, interviewId: id, at: i.at.toISOString(), remindBeforeMs: config.INTERVIEW_REMINDER_BEFORE, feedbackWindowMs: config.INTERVIEW_FEEDBACK_WINDOW,
      },
    };
  },
  async leave_request({ pool, config }, { id, tenantId }) {
    const r = await findLeaveRequest(pool, tenantId, id);
    return r && {
      contract: workflowContracts.leaveApproval,
      input: {
        tenantId, requestId: id, employeeId: r.employeeId, approverId: r.approverId, startDate: r.startDate,
        escalationAfterMs: config.LEAVE_ESCALATION_AFTER, expiryAfterMs: config.LEAVE_EXPIRY_AFTER,
      },
    };
  },
};

const CONTRACT_OF: Record<StartKind, { readonly idPrefix: string }> = {
  payroll_run: workflowContracts.payrollRun,
  offer: workflowContracts.offer,
  interview: workflowContracts.interviewReminder,
  review_cycle: workflowContracts.reviewCycle,
  offboarding: workflowContracts.offboarding,
  broadcast: workflowContracts.broadcast,
  digest: workflowContracts.digest,
  transfer: workflowContracts.p2pTransfer,
  topup: workflowContracts.topUp,
  payment: workflowContracts.paymentSaga,
  notification: workflowContracts.notification,
  leave_request: workflowContracts.leaveApproval,
  dead_letter_retry: workflowContracts.deadLetterRetry,
};

async function describeRun(temporal: Client, workflowId: string): Promise<'running' | 'closed' | 'missing'> {
  try {
    const { status } = await temporal.workflow.getHandle(workflowId).describe();
    return status.name === 'RUNNING' ? 'running' : 'closed';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'missing';
    throw err;
  }
}

async function start(options: StartReconcilerOptions, row: UnstartedRow, what: StartOf): Promise<ReconcileResult> {
  const workflowId = workflowIdOf(what.contract, row.key);
  try {
    await options.temporal.workflow.start(what.contract.type, {
      taskQueue: taskQueues(options.config)[what.contract.queue],
      workflowId,
      // Each input matches its contract by construction (startFromRow); the union cannot say so.
      args: [what.input] as never,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: TenantId, value: row.tenantId }, { key: BusinessStatus, value: 'pending' }],
    });
    metrics.workflowStarts.inc({ workflow_type: what.contract.type, result: 'started' });
    return 'started';
  } catch (err) {
    // A run closed meanwhile (the API's start landed and finished): that run owns the row.
    if (classifyStartError(err) === 'exists') return 'adopted';
    log.error({ workflowId, tenantId: row.tenantId, err }, 'could not start the run (tried again next pass)');
    return 'failed';
  }
}

async function reconcileRow(options: StartReconcilerOptions, kind: StartKind, row: UnstartedRow): Promise<ReconcileResult | null> {
  const { pool, temporal } = options;
  const workflowId = workflowIdOf(CONTRACT_OF[kind], row.key);
  const run = await describeRun(temporal, workflowId);
  let result: ReconcileResult;
  if (run === 'missing') {
    const what = await startFromRow[kind](options, row);
    if (!what) return null; // removed meanwhile (an undo): nothing to start
    result = await start(options, row, what);
  } else if (run === 'closed' && await isStillInitial(pool, kind, row)) {
    log.error({ workflowId, tenantId: row.tenantId, kind, rowId: row.id },
      'the run closed but its row is still in its initial status: needs ops (npm run ops -- list)');
    result = 'stuck';
  } else {
    result = 'adopted';
  }
  if (result !== 'failed') await markRunSeen(pool, kind, row);
  return result;
}

/** One pass over every kind: returns what it did (also counted in the metrics). */
export async function reconcileStarts(options: StartReconcilerOptions): Promise<ReconcileReport> {
  const afterMs = options.afterMs ?? options.config.RECONCILE_AFTER_MS;
  const report = {} as ReconcileReport;
  for (const kind of START_KINDS) {
    const counts = { started: 0, adopted: 0, stuck: 0, failed: 0, unstarted: 0 };
    const rows = await listUnstartedRows(options.pool, kind, { afterMs, limit: options.config.RECONCILE_BATCH_SIZE, tenantIds: options.tenantIds });
    for (const row of rows) {
      const result = await reconcileRow(options, kind, row);
      if (result === null) continue;
      counts[result]++;
      metrics.startReconcilerRows.inc({ kind, result });
    }
    counts.unstarted = await countUnstartedRows(options.pool, kind, { afterMs, tenantIds: options.tenantIds });
    metrics.startReconcilerUnstarted.set({ kind }, counts.unstarted);
    report[kind] = counts;
  }
  return report;
}

export interface StartReconciler {
  stop(): Promise<void>;
}

/** Runs reconcileStarts every RECONCILE_INTERVAL_MS until stopped (a failed pass is logged; the next one runs). */
export function startStartReconciler(options: StartReconcilerOptions): StartReconciler {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      pass = reconcileStarts(options)
        .then((report) => {
          const acted = Object.entries(report).filter(([, c]) => c.started + c.stuck + c.failed > 0);
          if (acted.length > 0) log.info({ report: Object.fromEntries(acted) }, 'pass acted');
        })
        .catch((err: unknown) => log.error({ err }, 'pass failed'))
        .finally(schedule);
    }, options.config.RECONCILE_INTERVAL_MS);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await pass;
    },
  };
}
