import type { ActivityOptions } from '@temporalio/workflow';

/** Ledger writes: short database transactions, retried on transient errors only. */
export const ledgerActivity: ActivityOptions = {
  startToCloseTimeout: '5s',
  retry: {
    initialInterval: '100ms',
    backoffCoefficient: 2,
    maximumInterval: '5s',
    maximumAttempts: 20,
    nonRetryableErrorTypes: ['insufficient_funds', 'limit_exceeded', 'currency_mismatch', 'account_missing',
      'hold_missing', 'hold_not_active', 'amount_too_large'],
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
    nonRetryableErrorTypes: ['currency_mismatch', 'account_missing', 'hold_missing', 'hold_not_active'],
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
    nonRetryableErrorTypes: ['bank_declined'],
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
    nonRetryableErrorTypes: ['payment_invalid_state', 'amount_too_large', 'payment_missing', 'ProcessorDeclined', 'ProcessorRequestRejected'],
  },
};
