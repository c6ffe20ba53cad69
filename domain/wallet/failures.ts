/**
 * Why a transfer or a top-up ended `failed`: the contract's `failure_code` values, shared by the
 * workflows (which decide them), the activities (which record them) and the API (which shows them).
 */

export const TRANSFER_FAILURE_CODES = [
  'insufficient_funds', 'limit_exceeded', 'account_unavailable', 'canceled', 'risk_blocked', 'risk_declined',
] as const;
export type TransferFailureCode = (typeof TRANSFER_FAILURE_CODES)[number];

/** A bank's answers: a decline is final; unavailable is retried with the same key. */
export const BANK_FAILURE_CODES = ['bank_declined', 'bank_unavailable'] as const;
export type BankFailureCode = (typeof BANK_FAILURE_CODES)[number];

/** `limit_exceeded`: the credit would lift a user account above its balance cap (the pull is refunded). */
export const TOPUP_FAILURE_CODES = ['bank_declined', 'account_unavailable', 'limit_exceeded', 'canceled'] as const;
export type TopUpFailureCode = (typeof TOPUP_FAILURE_CODES)[number];
