import { LeaveError, LeaveInvariantError } from './errors.js';
import { DECISION_ACTIONS, ledgerMovesFor, type LeaveDecision } from './leave-state.js';
import type { HalfDay, LeaveHistoryAction, LeaveHistoryEntry, LeaveRequest, LeaveStatus, NewLedgerRow } from './types.js';

/**
 * Rules of a leave request's life that need no database: what a request and a decision may
 * carry, when a keyed change is a replay, the history entries each change appends, and what
 * leave events carry. The repository (store/hr/) applies them under the request's row lock.
 */

export const REASON_LENGTH_MAX = 1000;
export const COMMENT_LENGTH_MAX = 1000;

export function checkReason(reason: string | null | undefined): void {
  if (reason && reason.length > REASON_LENGTH_MAX) {
    throw new LeaveError('parameter_invalid', `reason is at most ${REASON_LENGTH_MAX} characters.`, 'reason');
  }
}

export function checkComment(comment: string | null | undefined, param = 'comment'): void {
  if (comment && comment.length > COMMENT_LENGTH_MAX) {
    throw new LeaveError('parameter_invalid', `${param} is at most ${COMMENT_LENGTH_MAX} characters.`, param);
  }
}

type LeaveAsked = { employeeId: string; leaveType: string; startDate: string; endDate: string; halfDay?: HalfDay | null | undefined };

/** Whether `earlier` asks for the same leave (employee, type, dates, half day). */
export function isSameLeave(earlier: LeaveRequest, input: LeaveAsked): boolean {
  return earlier.employeeId === input.employeeId && earlier.leaveType === input.leaveType
    && earlier.startDate === input.startDate && earlier.endDate === input.endDate
    && earlier.halfDay === (input.halfDay ?? null);
}

/** A replay must ask for the same leave; the same id for other dates is a caller's bug. */
export function sameRequest(earlier: LeaveRequest, input: LeaveAsked): LeaveRequest {
  if (!isSameLeave(earlier, input)) throw new LeaveInvariantError(`leave request ${earlier.id} exists with other details`);
  return earlier;
}

/**
 * Whether the change keyed `idempotencyKey` is already in the request's history. The same key
 * for another action (or on another request: the ledger's unique key refuses that) is a bug.
 */
export function isReplay(current: LeaveRequest, idempotencyKey: string, action: LeaveHistoryAction): boolean {
  const earlier = current.history.find((entry) => entry.idempotency_key === idempotencyKey);
  if (earlier && earlier.action !== action) {
    throw new LeaveInvariantError(`key ${idempotencyKey} of leave request ${current.id} was used for ${earlier.action}`);
  }
  return earlier !== undefined;
}

/**
 * Whether handing a request to `approverId` changes anything (false: already theirs). Only a
 * pending request changes approver (`leave_request_invalid_state`), never to the employee
 * themselves (`parameter_invalid`).
 */
export function approverChangeNeeded(current: LeaveRequest, approverId: string): boolean {
  if (current.status !== 'pending') {
    throw new LeaveError('leave_request_invalid_state', `The leave request is ${current.status}: only a pending one changes approver.`);
  }
  if (approverId === current.approverId) return false;
  if (approverId === current.employeeId) {
    throw new LeaveError('parameter_invalid', 'An employee cannot approve their own leave.', 'approver_id');
  }
  return true;
}

/** The first history entry of a request (`at`: ISO timestamp, UTC). */
export function requestedEntry(input: { employeeId: string; approverId: string | null }, at: string): LeaveHistoryEntry {
  return { at, action: 'requested', actor_id: input.employeeId, status: 'pending', approver_id: input.approverId };
}

/** The history entry of a decision; `actorId` null: the system decided (no `actor_id`). */
export function decisionEntry(
  input: { decision: LeaveDecision; actorId: string | null; comment?: string | null | undefined; idempotencyKey: string },
  status: LeaveStatus,
  at: string,
): LeaveHistoryEntry {
  return {
    at, action: DECISION_ACTIONS[input.decision], status,
    ...(input.actorId !== null ? { actor_id: input.actorId } : {}),
    ...(input.comment ? { comment: input.comment } : {}),
    idempotency_key: input.idempotencyKey,
  };
}

/** The history entry of an escalation (a new approver for a pending request). */
export function escalationEntry(
  current: LeaveRequest,
  change: {
    approverId: string; note?: string | null | undefined; idempotencyKey?: string | undefined;
    /** `reassigned`: the employee's manager changed (a new manager takes over); default `escalated`. */
    action?: 'escalated' | 'reassigned' | undefined;
  },
  at: string,
): LeaveHistoryEntry {
  return {
    at, action: change.action ?? 'escalated', status: 'pending',
    approver_id: change.approverId, previous_approver_id: current.approverId,
    ...(change.note ? { comment: change.note } : {}),
    ...(change.idempotencyKey !== undefined ? { idempotency_key: change.idempotencyKey } : {}),
  };
}

/**
 * The ledger rows of moving `current` to `status` (see ledgerMovesFor), charged to the leave's
 * year, each keyed from the decision's key.
 */
export function decisionLedgerRows(current: LeaveRequest, status: LeaveStatus, idempotencyKey: string): NewLedgerRow[] {
  return ledgerMovesFor(current.status, status, current.days).map((move) => ({
    tenantId: current.tenantId, employeeId: current.employeeId, leaveType: current.leaveType,
    year: Number(current.startDate.slice(0, 4)), kind: move.kind, days: move.days, leaveRequestId: current.id,
    idempotencyKey: `${idempotencyKey}${move.keySuffix}`,
  }));
}

/** What leave events carry (the notification templates' data). */
export function leaveEventPayload(request: LeaveRequest): Record<string, unknown> {
  return {
    leave_request_id: request.id, employee_id: request.employeeId, leave_type: request.leaveType,
    start_date: request.startDate, end_date: request.endDate, days: request.days, status: request.status,
  };
}
