import { defineUpdate } from '@temporalio/workflow';

/** Input and Updates of the leave approval workflow: shared by the API and the workflow. */

export interface LeaveApprovalInput {
  tenantId: string;
  requestId: string;
  employeeId: string;
  /** The employee's manager; null: approved at once. */
  approverId: string | null;
  /** First day of the leave (YYYY-MM-DD): an approved leave can be cancelled until then. */
  startDate: string;
  escalationAfterMs: number;
  expiryAfterMs: number;
}

export interface LeaveApprovalResult {
  status: 'approved' | 'rejected' | 'cancelled' | 'expired';
}

export interface DecisionArgs {
  approverId: string;
  comment?: string;
}

export interface CancelArgs {
  employeeId: string;
  /** Recorded in the history (the offboarding says why; the API sends none). */
  comment?: string;
}

export const approveUpdate = defineUpdate<void, [DecisionArgs]>('approve');
export const rejectUpdate = defineUpdate<void, [DecisionArgs]>('reject');
export const cancelLeaveUpdate = defineUpdate<void, [CancelArgs]>('cancel');

export interface ReassignArgs {
  /** The employee's new manager: the approver from now on. */
  approverId: string;
}

/**
 * The employee's manager changed (`POST /v1/employees/:id {manager_id}`): a pending request moves to
 * the new manager (history `reassigned`, notified). Refused once the request is decided.
 */
export const reassignApproverUpdate = defineUpdate<{ approverId: string | null }, [ReassignArgs]>('reassignApprover');

/** Input of the offboarding workflow (`POST /v1/employees/:id/terminate`). */
export interface OffboardingInput {
  tenantId: string;
  employeeId: string;
  /** The termination date (YYYY-MM-DD), the last day paid: the run acts at its start, 00:00 UTC. */
  terminationDate: string;
}

export interface OffboardingResult {
  status: 'terminated';
  /** Direct reports moved to the employee's manager. */
  reportsMoved: number;
  /** Pending requests moved from the employee (as approver) to their manager. */
  requestsMoved: number;
  /** The employee's own requests cancelled. */
  leaveCancelled: number;
}
