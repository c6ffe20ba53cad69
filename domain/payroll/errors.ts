import { DomainError } from '../errors.js';

/**
 * Business outcomes of payroll (compensation, rules, the arithmetic's inputs), not bugs: each
 * carries the contract's stable `code`, so the API answers it and an activity can fail on it.
 */
export type PayrollErrorCode =
  | 'parameter_invalid'
  | 'resource_missing'
  /** The employee has a compensation with this effective date already. */
  | 'resource_exists'
  /** A period's compensations are in more than one currency: one line pays one currency. */
  | 'currency_mismatch';

export class PayrollError extends DomainError {
  override name = 'PayrollError';
  constructor(
    readonly code: PayrollErrorCode,
    message: string,
    /** The request parameter at fault, in the API's spelling (`tax_brackets`, `effective_date`). */
    override readonly param?: string,
  ) {
    super(message);
  }
}

/** A broken payroll invariant (an amount past 2^53, a negative net): a bug, never a user error. */
export class PayrollInvariantError extends Error {
  override name = 'PayrollInvariantError';
}
