import { ApiError, errors } from '../errors.js';

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
  | 'insufficient_leave_balance';

export class LeaveError extends Error {
  override name = 'LeaveError';
  constructor(
    readonly code: LeaveErrorCode,
    message: string,
    /** The request parameter at fault, in the API's spelling (`start_date`, `manager_id`). */
    readonly param?: string,
  ) {
    super(message);
  }
}

/** A broken HR invariant (a reused idempotency key, a negative balance): a bug, never a user error. */
export class LeaveInvariantError extends Error {
  override name = 'LeaveInvariantError';
}

/** The contract's error for an HR domain error (the API maps these; activities keep the code). */
export function leaveApiError(err: LeaveError): ApiError {
  switch (err.code) {
    case 'parameter_invalid':
      return new ApiError(400, 'invalid_request_error', 'parameter_invalid', err.message, err.param);
    case 'resource_missing':
      return new ApiError(404, 'invalid_request_error', 'resource_missing', err.message, err.param);
    case 'resource_exists':
      return errors.resourceExists(err.message, err.param);
    case 'not_approver':
      return errors.notApprover(err.message);
    case 'leave_request_invalid_state':
      return errors.leaveRequestInvalidState(err.message);
    case 'leave_conflict':
      return errors.leaveConflict(err.message, err.param);
    case 'insufficient_leave_balance':
      return errors.insufficientLeaveBalance(err.message);
    default: {
      const unreachable: never = err.code;
      throw new LeaveInvariantError(`unknown leave error code ${String(unreachable)}`);
    }
  }
}
