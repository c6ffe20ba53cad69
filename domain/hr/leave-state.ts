import { LeaveError, LeaveInvariantError } from './errors.js';

/**
 * The leave request state machine: pure, so the repository, the workflow and the API agree on
 * which moves exist, who may make them and what each does to the leave ledger.
 */

export const LEAVE_STATUSES = ['pending', 'approved', 'rejected', 'cancelled', 'expired'] as const;
export type LeaveStatus = (typeof LEAVE_STATUSES)[number];

export const LEAVE_DECISIONS = ['approve', 'reject', 'cancel', 'expire'] as const;
export type LeaveDecision = (typeof LEAVE_DECISIONS)[number];

/** Every legal move; anything not listed is `leave_request_invalid_state`. */
export const LEAVE_TRANSITIONS = {
  pending: { approve: 'approved', reject: 'rejected', cancel: 'cancelled', expire: 'expired' },
  // Only before the leave starts: see nextLeaveStatus.
  approved: { cancel: 'cancelled' },
  rejected: {},
  cancelled: {},
  expired: {},
} as const satisfies Record<LeaveStatus, Partial<Record<LeaveDecision, LeaveStatus>>>;

/** The `history` action a decision records. */
export const DECISION_ACTIONS = {
  approve: 'approved',
  reject: 'rejected',
  cancel: 'cancelled',
  expire: 'expired',
} as const satisfies Record<LeaveDecision, string>;

export function isFinalLeaveStatus(status: LeaveStatus): boolean {
  return Object.keys(LEAVE_TRANSITIONS[status]).length === 0;
}

/**
 * The status after `decision`, or `leave_request_invalid_state`. `today` (ISO date, UTC) decides
 * whether an approved leave has started: from its first day on it can no longer be cancelled.
 */
export function nextLeaveStatus(
  current: LeaveStatus,
  decision: LeaveDecision,
  leave: { startDate: string; today: string },
): LeaveStatus {
  const moves: Partial<Record<LeaveDecision, LeaveStatus>> = LEAVE_TRANSITIONS[current];
  const next = moves[decision];
  if (next === undefined) {
    throw new LeaveError('leave_request_invalid_state', `The leave request is ${current}: ${decision} is not allowed.`);
  }
  if (current === 'approved' && leave.today >= leave.startDate) {
    throw new LeaveError('leave_request_invalid_state', `The leave started on ${leave.startDate}: it can no longer be cancelled.`);
  }
  return next;
}

/**
 * Who may decide: approve and reject belong to the current approver (never the employee),
 * cancel to the employee. `actorId: null` is the system: it approves a request that has no
 * approver (an employee without a manager), cancels (ops) and expires.
 */
export function assertMayDecide(
  decision: LeaveDecision,
  actorId: string | null,
  request: { employeeId: string; approverId: string | null },
): void {
  switch (decision) {
    case 'approve':
    case 'reject': {
      const bySystem = actorId === null && decision === 'approve' && request.approverId === null;
      const byApprover = actorId !== null && actorId === request.approverId && actorId !== request.employeeId;
      if (!bySystem && !byApprover) {
        throw new LeaveError('not_approver', 'Only the current approver can approve or reject this leave request.', 'approver_id');
      }
      return;
    }
    case 'cancel':
      if (actorId !== null && actorId !== request.employeeId) {
        throw new LeaveError('not_approver', 'Only the employee who asked for the leave can cancel it.', 'employee_id');
      }
      return;
    case 'expire':
      return;
    default: {
      const unreachable: never = decision;
      throw new LeaveInvariantError(`unknown leave decision ${String(unreachable)}`);
    }
  }
}

export type LeaveLedgerKind = 'allocation' | 'reservation' | 'reservation_release' | 'usage';

/** One row a move appends to the leave ledger; `keySuffix` keeps each row's key unique. */
export interface LedgerMove {
  kind: Exclude<LeaveLedgerKind, 'allocation'>;
  days: number;
  keySuffix: string;
}

/**
 * What a move does to the ledger. Signs: a reservation adds to `reserved`, its release takes it
 * back; usage adds to `used`, a negative usage returns days. `available` = allocated − used −
 * reserved, so approving (release + usage) leaves it unchanged and every other move raises it.
 */
export function ledgerMovesFor(from: LeaveStatus, to: LeaveStatus, days: number): LedgerMove[] {
  if (from === 'pending' && to === 'approved') {
    return [{ kind: 'reservation_release', days: -days, keySuffix: '' }, { kind: 'usage', days, keySuffix: ':usage' }];
  }
  if (from === 'pending') return [{ kind: 'reservation_release', days: -days, keySuffix: '' }];
  if (from === 'approved' && to === 'cancelled') return [{ kind: 'usage', days: -days, keySuffix: '' }];
  throw new LeaveInvariantError(`no ledger moves for ${from} → ${to}`);
}
