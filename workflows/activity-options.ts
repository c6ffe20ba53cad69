import type { ActivityOptions } from '@temporalio/workflow';
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
