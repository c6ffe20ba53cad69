import { DomainError } from '../errors.js';

/** Business outcomes of a ledger write, the contract's codes (workflows match on them). */
export const LEDGER_ERROR_CODES = [
  'insufficient_funds',
  'limit_exceeded',
  'currency_mismatch',
  'account_missing',
  'hold_missing',
  'hold_not_active',
  'amount_too_large',
] as const;

export type LedgerErrorCode = (typeof LEDGER_ERROR_CODES)[number];

/**
 * The codes no retry can ever fix (a wrong account, a hold already resolved). Funds and limits
 * are not among them: a step that must finish (posting a reserved hold) waits those out.
 */
export const LEDGER_STRUCTURAL_ERROR_CODES = [
  'currency_mismatch',
  'account_missing',
  'hold_missing',
  'hold_not_active',
] as const satisfies readonly LedgerErrorCode[];

/** A business outcome of a ledger write (not a bug): the caller decides what the user sees. */
export class LedgerError extends DomainError {
  override name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A broken ledger invariant: a bug, never a user error. */
export class LedgerInvariantError extends Error {
  override name = 'LedgerInvariantError';
}
