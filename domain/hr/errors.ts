import { DomainError } from '../errors.js';

/**
 * Business outcomes of the HR domain (employees and leave), not bugs: each carries the contract's
 * stable `code`, so an activity can turn it into a non-retryable failure and the API into the
 * contract's error. One class for the whole HR domain (employee errors too), so callers catch one
 * type.
 */
export type LeaveErrorCode =
  | 'parameter_invalid'
  | 'resource_missing'
  | 'resource_exists'
  | 'not_approver'
  | 'leave_request_invalid_state'
  | 'leave_conflict'
  | 'insufficient_leave_balance'
  /** The request's Idempotency-Key belongs to another request (api/errors.ts: 422). */
  | 'idempotency_key_reused';

export class LeaveError extends DomainError {
  override name = 'LeaveError';
  constructor(
    readonly code: LeaveErrorCode,
    message: string,
    /** The request parameter at fault, in the API's spelling (`start_date`, `manager_id`). */
    override readonly param?: string,
  ) {
    super(message);
  }
}

/** A broken HR invariant (a reused idempotency key, a negative balance): a bug, never a user error. */
export class LeaveInvariantError extends Error {
  override name = 'LeaveInvariantError';
}
