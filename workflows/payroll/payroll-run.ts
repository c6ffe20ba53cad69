import { allHandlersFinished, ApplicationFailure, condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PayrollActivities } from '../../activities/payroll/payroll-activities.js';
import { batchRanges, type PayrollRunStatus } from '../../domain/payroll/run.js';
import { payrollActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import {
  approvePayrollUpdate, cancelPayrollUpdate, retryFailedPayrollUpdate, type PayrollRunInput, type PayrollRunResult,
} from './types.js';

const refuse = (type: 'forbidden' | 'payroll_run_invalid_state', message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/**
 * A payroll run (contract §9): calculate the lines → wait for a second person's approval → hold the
 * whole net on the funding account → wait for the pay date → pay the lines in batches of
 * `batchSize`, `parallelBatches` at a time (each line a ledger transfer, its `payroll.paid` event in
 * the same transaction) → `paid`, or `partially_failed` and wait up to `retryWindowMs` for
 * `retry-failed`. Cancel until the first payment. The state is in PostgreSQL (store/payroll), moved
 * by activities guarded by status, and every ledger key is `${workflowId}:<step>:<employee>`: a
 * crashed worker, a retried batch or a replay never pays anyone twice.
 */
export async function payrollRun(input: PayrollRunInput): Promise<PayrollRunResult> {
  const steps = proxyActivities<PayrollActivities>(payrollActivity);
  const batches = proxyActivities<PayrollActivities>({ ...payrollActivity, startToCloseTimeout: input.batchTimeoutMs });
  const ref = { tenantId: input.tenantId, runId: input.runId };
  const keyPrefix = workflowInfo().workflowId;
  let status: PayrollRunStatus = 'calculating';
  let busy = false;
  let paymentStarted = false;
  let retries = 0;
  let retryClosed = false;
  /** The status as the handlers left it (a call, so the compiler does not narrow it across awaits). */
  const current = (): PayrollRunStatus => status;
  const set = (next: PayrollRunStatus) => {
    status = next;
    setBusinessStatus(next);
  };
  /** One Update's steps at a time; the main path waits for `!busy` before it moves on. */
  const exclusive = async (fn: () => Promise<PayrollRunStatus>): Promise<PayrollRunResult> => {
    busy = true;
    try {
      set(await fn());
      return { status };
    } finally {
      busy = false;
    }
  };

  setHandler(approvePayrollUpdate, (args) => exclusive(() => steps.holdPayrollNet({ ...ref, keyPrefix, approvedBy: args.actorId })), {
    validator: (args) => {
      if (args.actorId === input.createdBy) throw refuse('forbidden', 'The run must be approved by someone other than its creator (four eyes).');
      if (status !== 'awaiting_approval' || busy) throw refuse('payroll_run_invalid_state', `The run is ${status}.`);
    },
  });
  setHandler(cancelPayrollUpdate, (args) => exclusive(() => steps.cancelPayrollRun({ ...ref, actorId: args.actorId })), {
    validator: (_args) => {
      if (busy || !(status === 'awaiting_approval' || (status === 'paying' && !paymentStarted))) {
        throw refuse('payroll_run_invalid_state', `The run is ${status}${paymentStarted ? ' and payment has started' : ''}: it can no longer be cancelled.`);
      }
    },
  });
  setHandler(retryFailedPayrollUpdate, (_args) => exclusive(async () => {
    await steps.retryFailedPayrollLines(ref);
    retries++;
    return 'paying';
  }), {
    validator: (_args) => {
      if (status !== 'partially_failed' || busy || retryClosed) throw refuse('payroll_run_invalid_state', `The run is ${status}: only a partially_failed run retries its failed lines.`);
    },
  });

  const calculated = await steps.calculatePayrollRun(ref);
  set(calculated.status);
  if (calculated.status === 'awaiting_approval') {
    await condition(() => status !== 'awaiting_approval' && !busy);
    if (current() === 'paying') await waitForPayDate(input.payDate, () => status !== 'paying' || busy);
    await condition(() => !busy);
    paymentStarted = current() === 'paying'; // in the same workflow task as the check: a later cancel is refused
    while (current() === 'paying') {
      await payBatches(batches, { ...ref, keyPrefix }, batchRanges(calculated.linesCount, input.batchSize), input.parallelBatches);
      set(await steps.finishPayrollRun(ref));
      if (current() !== 'partially_failed') break;
      const retriesBefore = retries;
      if (!(await condition(() => retries > retriesBefore && !busy, input.retryWindowMs))) {
        await condition(() => !busy);
        if (retries === retriesBefore) {
          retryClosed = true; // before any await: a retry-failed arriving now is refused
          await steps.releaseFailedPayrollHolds(ref);
        }
      }
    }
  }
  await condition(allHandlersFinished);
  return { status };
}

/** Sleeps durably until 00:00 UTC of the pay date (or until `interrupted`); a past date returns at once. */
async function waitForPayDate(payDate: string, interrupted: () => boolean): Promise<void> {
  const untilMs = Date.parse(`${payDate}T00:00:00Z`) - Date.now();
  if (untilMs <= 0) return;
  setBusinessStatus('awaiting_pay_date');
  await condition(interrupted, untilMs);
}

/** Pays the ranges, `lanes` batches in flight, in order (deterministic: one workflow thread). */
async function payBatches(
  steps: PayrollActivities, step: { tenantId: string; runId: string; keyPrefix: string }, ranges: [number, number][], lanes: number,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(lanes, ranges.length) }, async () => {
    while (next < ranges.length) {
      const [fromSeq, toSeq] = ranges[next++]!;
      await steps.payPayrollBatch({ ...step, fromSeq, toSeq });
    }
  }));
}
