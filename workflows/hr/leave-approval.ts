import { allHandlersFinished, ApplicationFailure, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import type { LeaveActivities } from '../../activities/hr/leave-activities.js';
import { ledgerActivity, localLedgerActivity, proxySteps, stepsAreLocal } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import {
  approveUpdate, cancelLeaveUpdate, reassignApproverUpdate, rejectUpdate, type DecisionArgs, type LeaveApprovalInput, type LeaveApprovalResult,
} from './types.js';

type Status = 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired';

const refuse = (type: 'not_approver' | 'leave_request_invalid_state', message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/**
 * Leave approval: the days are reserved when the request is made (in the API's transaction);
 * this run notifies the approver, waits for an approve/reject/cancel Update, escalates to the
 * approver's manager after LEAVE_ESCALATION_AFTER, and expires the request after
 * LEAVE_EXPIRY_AFTER (the reservation is released). An approved leave stays cancellable by the
 * employee until it starts. Validators refuse, before anything is recorded: anyone but the current
 * approver (and always the employee) deciding, and any decision once the request is not pending.
 *
 * Since 0.2.0 (patch `local-steps`) the steps are local activities: a decision (its transaction,
 * the status, the employee's notification) runs inside the workflow task that took the Update,
 * which completes the Update in the same task. Runs started before keep their regular activities.
 */
export async function leaveApproval(input: LeaveApprovalInput): Promise<LeaveApprovalResult> {
  const hr = proxySteps<LeaveActivities>(stepsAreLocal(), localLedgerActivity, ledgerActivity);
  const key = (step: string) => `${workflowInfo().workflowId}:${step}`;
  const base = { tenantId: input.tenantId, requestId: input.requestId };
  let status: Status = 'pending';
  let approverId = input.approverId;
  let busy = false;
  const set = (next: Status) => {
    status = next;
    setBusinessStatus(next);
  };

  async function decide(decision: 'approve' | 'reject' | 'cancel' | 'expire', actorId: string | null, comment?: string) {
    busy = true;
    try {
      await hr.decideLeave({ ...base, decision, actorId, comment: comment ?? null, idempotencyKey: key(decision) });
      const next: Status = { approve: 'approved', reject: 'rejected', cancel: 'cancelled', expire: 'expired' }[decision] as Status;
      set(next);
      await hr.notifyEmployee({ ...base, employeeId: input.employeeId, event: `leave.${next}`, idempotencyKey: key(`notify-${decision}`) });
    } finally {
      busy = false;
    }
  }

  const validateDecision = (args: DecisionArgs) => {
    if (args.approverId === input.employeeId || args.approverId !== approverId) {
      throw refuse('not_approver', 'Only the current approver can decide this request.');
    }
    if (status !== 'pending' || busy) throw refuse('leave_request_invalid_state', `The request is ${status}.`);
  };
  setHandler(approveUpdate, (args) => decide('approve', args.approverId, args.comment), { validator: validateDecision });
  setHandler(rejectUpdate, (args) => decide('reject', args.approverId, args.comment), { validator: validateDecision });
  setHandler(cancelLeaveUpdate, (args) => decide('cancel', args.employeeId, args.comment), {
    validator: (args) => {
      if (args.employeeId !== input.employeeId) throw refuse('not_approver', 'Only the employee can cancel this request.');
      const started = Date.now() >= Date.parse(`${input.startDate}T00:00:00Z`);
      if (busy || !(status === 'pending' || (status === 'approved' && !started))) {
        throw refuse('leave_request_invalid_state', `A ${status} request cannot be cancelled${started ? ' once the leave has started' : ''}.`);
      }
    },
  });

  // A new manager takes over (since 0.3.0: an Update; no command of an older run moves, so no patch).
  let reassignments = 0;
  setHandler(reassignApproverUpdate, async (args) => {
    busy = true;
    try {
      const step = ++reassignments; // one key per reassignment: A → B → A is three moves, not a replay
      const now = await hr.reassignLeave({ ...base, approverId: args.approverId, idempotencyKey: key(`reassign-${step}`) });
      if (now !== null && now !== approverId) {
        approverId = now;
        await hr.notifyApprover({ ...base, approverId: now, event: 'leave.reassigned', idempotencyKey: key(`notify-reassigned-${step}`) });
      }
      return { approverId };
    } finally {
      busy = false;
    }
  }, {
    validator: (args) => {
      if (args.approverId === input.employeeId) throw refuse('not_approver', 'An employee cannot approve their own leave.');
      if (status !== 'pending' || busy) throw refuse('leave_request_invalid_state', `The request is ${status}.`);
    },
  });

  if (approverId === null) {
    await decide('approve', null, 'No manager: approved at once.');
  } else {
    await hr.notifyApprover({ ...base, approverId, event: 'leave.requested', idempotencyKey: key('notify-requested') });
    if (!(await condition(() => status !== 'pending', input.escalationAfterMs))) {
      await condition(() => !busy); // a decision in flight wins over the escalation
      const escalatedTo = (status as Status) === 'pending' ? await hr.escalateLeave({ ...base, idempotencyKey: key('escalate') }) : null;
      if (escalatedTo && escalatedTo !== approverId) {
        approverId = escalatedTo;
        await hr.notifyApprover({ ...base, approverId, event: 'leave.escalated', idempotencyKey: key('notify-escalated') });
      }
      const remainingMs = Math.max(0, input.expiryAfterMs - input.escalationAfterMs);
      if ((status as Status) === 'pending' && !(await condition(() => status !== 'pending', remainingMs))) {
        await condition(() => !busy);
        if (status === 'pending') await decide('expire', null);
      }
    }
  }
  // An approved leave can still be cancelled by the employee until its first day.
  const untilStartMs = Date.parse(`${input.startDate}T00:00:00Z`) - Date.now();
  if ((status as Status) === 'approved' && untilStartMs > 0) await condition(() => status !== 'approved', untilStartMs);
  await condition(allHandlersFinished);
  return { status: status as LeaveApprovalResult['status'] };
}
