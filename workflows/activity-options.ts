import { patched, proxyActivities, proxyLocalActivities, type ActivityInterfaceFor, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import { LEDGER_ERROR_CODES, LEDGER_STRUCTURAL_ERROR_CODES } from '../domain/ledger/errors.js';
import { PAYMENT_ERROR_CODES } from '../domain/payments/errors.js';
import type { BankFailureCode } from '../domain/wallet/failures.js';

/** Ledger writes: short database transactions, retried on transient errors only. */
export const ledgerActivity: ActivityOptions = {
  startToCloseTimeout: '5s',
  retry: {
    initialInterval: '100ms',
    backoffCoefficient: 2,
    maximumInterval: '5s',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...LEDGER_ERROR_CODES],
  },
};

/**
 * Steps that must finish once started (posting a hold whose funds are reserved, compensations):
 * retried without an attempt limit (no `maximumAttempts`) until they succeed or fail for good.
 */
export const mustFinishActivity: ActivityOptions = {
  startToCloseTimeout: '5s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: [...LEDGER_STRUCTURAL_ERROR_CODES],
  },
};

/**
 * Steps that sweep many rows or runs at once (offboarding: every report, every leave request, each
 * through a Temporal Update): a longer start-to-close, retried without an attempt limit (the step
 * must finish; each is idempotent). Only a missing employee is final.
 */
export const sweepActivity: ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    nonRetryableErrorTypes: ['resource_missing'],
  },
};

/**
 * Payroll run steps (workflows/payroll/payroll-run.ts): one transaction each, a calculation or a
 * batch of up to PAYROLL_BATCH_SIZE lines, so a longer timeout; retried until they finish (a batch
 * whose funds are held must be paid), except for the structural refusals no retry can fix.
 */
export const payrollActivity: ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: [...LEDGER_STRUCTURAL_ERROR_CODES],
  },
};

/** Broadcast steps: a page is a database read, one push send per 10,000 tokens and one commit; retried until done. */
export const broadcastActivity: ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['resource_missing'] },
};

/**
 * A digest's send (one SMTP call and two short transactions): SMTP 4xx and lost connections retried
 * with backoff for about ten minutes (the same Message-ID each time), then its held e-mails are
 * dead-lettered by `digestFailActivity`, retried until done.
 */
export const digestActivity: ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 10 },
};
export const digestFailActivity: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** Calls to the bank: slower, transient failures (5xx, timeouts) retried with backoff. */
export const bankActivity: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 8,
    nonRetryableErrorTypes: ['bank_declined' satisfies BankFailureCode],
  },
};

/**
 * Payment steps that call a processor. Declines come back as values; what is thrown is transport
 * trouble (retried with the same key: a retry never charges twice) or a domain refusal (final).
 * No attempt limit: a payment stuck on a failing processor waits for it, or for ops to cancel.
 */
export const processorActivity: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    // Payment refusals (by code) and the processor's final answers (by class: ProcessorError's failure type).
    nonRetryableErrorTypes: [
      ...PAYMENT_ERROR_CODES.filter((code) => code !== 'refund_missing'), 'ProcessorDeclined', 'ProcessorRequestRejected',
    ],
  },
};

/**
 * Issue #14: short steps run as local activities, in the workflow task that schedules them (no
 * hand-off through the server: no ActivityTaskScheduled/Started/Completed events, no second
 * workflow task). What that costs: a local activity's result is recorded (a marker) only when the
 * workflow task completes, so a worker crash in between runs the step again — every step is
 * idempotent by its key (`${workflowId}:<step>`), so a repeat finds its first outcome; and it is
 * not listed as a pending activity in the UI (its marker is in the history). Retries longer than
 * `localRetryThreshold` wait on a durable timer, like a regular activity's.
 */
export const LOCAL_RETRY_THRESHOLD = '10s';

/** `ledgerActivity` as a local activity. */
export const localLedgerActivity: LocalActivityOptions = {
  startToCloseTimeout: ledgerActivity.startToCloseTimeout!,
  localRetryThreshold: LOCAL_RETRY_THRESHOLD,
  retry: ledgerActivity.retry!,
};

/** `mustFinishActivity` as a local activity (retried until it finishes). */
export const localMustFinishActivity: LocalActivityOptions = {
  startToCloseTimeout: mustFinishActivity.startToCloseTimeout!,
  localRetryThreshold: LOCAL_RETRY_THRESHOLD,
  retry: mustFinishActivity.retry!,
};

/** `processorActivity` as a local activity (the processor dedupes by the step's key). */
export const localProcessorActivity: LocalActivityOptions = {
  startToCloseTimeout: processorActivity.startToCloseTimeout!,
  localRetryThreshold: LOCAL_RETRY_THRESHOLD,
  retry: processorActivity.retry!,
};

/**
 * The patch that moved a workflow's steps to local activities (release 0.2.0). Runs started by an
 * older release replay their recorded regular activities (no marker: `false`); new runs take the
 * local path. Call `stepsAreLocal()` once, first thing in the workflow, and keep the answer for the
 * whole run (handlers too), so one run never mixes the two.
 */
export const LOCAL_STEPS_PATCH = 'local-steps';

export function stepsAreLocal(): boolean {
  return patched(LOCAL_STEPS_PATCH);
}

/** Activities as local ones on a run that took the patch, as regular ones on an older run. */
export function proxySteps<A extends object>(local: boolean, localOptions: LocalActivityOptions, options: ActivityOptions): A {
  return (local ? proxyLocalActivities<A & ActivityInterfaceFor<A>>(localOptions) : proxyActivities<A & ActivityInterfaceFor<A>>(options)) as A;
}
