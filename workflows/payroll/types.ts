import { defineUpdate } from '@temporalio/workflow';
import type { PayrollRunStatus } from '../../domain/payroll/run.js';

/** Input and Updates of the payroll run workflow: shared by the API and the workflow. */

export interface PayrollRunInput {
  tenantId: string;
  runId: string;
  /** The actor who created the run: never its approver (four eyes). */
  createdBy: string;
  /** `YYYY-MM-DD` (UTC): payment starts at 00:00 UTC that day, at once when it is past. */
  payDate: string;
  /** PAYROLL_BATCH_SIZE, PAYROLL_PARALLEL_BATCHES, PAYROLL_BATCH_TIMEOUT, PAYROLL_RETRY_WINDOW (the workflow reads no env). */
  batchSize: number;
  parallelBatches: number;
  batchTimeoutMs: number;
  retryWindowMs: number;
}

export interface PayrollRunResult {
  status: PayrollRunStatus;
}

export interface PayrollActorArgs {
  /** The acting user's `sub` (contract §0). */
  actorId: string;
}

/** Approve (not the creator: `forbidden`): holds the net, then pays at the pay date. Answers once held (or failed). */
export const approvePayrollUpdate = defineUpdate<PayrollRunResult, [PayrollActorArgs]>('approve');
/** Cancel before the first payment: the holds are voided. */
export const cancelPayrollUpdate = defineUpdate<PayrollRunResult, [PayrollActorArgs]>('cancel');
/** A `partially_failed` run pays its failed lines again (those fixed meanwhile are paid). */
export const retryFailedPayrollUpdate = defineUpdate<PayrollRunResult, [PayrollActorArgs]>('retryFailed');
