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
}

export const approveUpdate = defineUpdate<void, [DecisionArgs]>('approve');
export const rejectUpdate = defineUpdate<void, [DecisionArgs]>('reject');
export const cancelLeaveUpdate = defineUpdate<void, [CancelArgs]>('cancel');
