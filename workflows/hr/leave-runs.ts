import type { LeaveRequest } from '../../domain/hr/types.js';
import { workflowContracts, workflowIdOf } from '../contract-table.js';
import { cancelLeaveUpdate, reassignApproverUpdate, type CancelArgs, type ReassignArgs } from './types.js';

/**
 * The client side of the leave run's Updates (defined in ./types.ts): changes to leave requests
 * made from outside their run, which owns its row, so the run and the row change together. Used
 * by the API (a new manager: api/hr/employees.ts) and by the offboarding activities (given to them
 * by workers/registry.ts: activities never import workflows/). Never imported by workflow code:
 * it runs where a Temporal Client lives. A request decided meanwhile refuses its Update (or its
 * run has closed): logged and skipped, never an error; anything else (the server unreachable) throws.
 */

/** What this needs of a Temporal Client, by shape (workflow files never import the client). */
export interface LeaveRunClient {
  workflow: {
    getHandle(workflowId: string): {
      executeUpdate(def: typeof reassignApproverUpdate, options: { args: [ReassignArgs]; updateId?: string }): Promise<unknown>;
      executeUpdate(def: typeof cancelLeaveUpdate, options: { args: [CancelArgs]; updateId?: string }): Promise<unknown>;
    };
  };
}

export interface LeaveRunDeps {
  temporal: LeaveRunClient;
  log: { warn(fields: object, message: string): void };
}

/** The run refused the Update: its validator (decided, started), or no run any more (closed). */
const REFUSALS = new Set(['WorkflowUpdateFailedError', 'WorkflowNotFoundError']);

async function eachRun(
  deps: LeaveRunDeps, requests: readonly LeaveRequest[], send: (handle: ReturnType<LeaveRunClient['workflow']['getHandle']>, r: LeaveRequest) => Promise<unknown>,
  refusedMessage: string,
): Promise<number> {
  const done = await Promise.all(requests.map(async (request) => {
    try {
      await send(deps.temporal.workflow.getHandle(workflowIdOf(workflowContracts.leaveApproval, request.id)), request);
      return true;
    } catch (err) {
      if (!(err instanceof Error && REFUSALS.has(err.name))) throw err;
      deps.log.warn({ err, requestId: request.id }, refusedMessage);
      return false;
    }
  }));
  return done.filter(Boolean).length;
}

/**
 * Moves the pending requests among `requests` to `approverId` with each run's `reassignApprover`
 * Update (history `reassigned`, the new approver notified); those already with `approverId`, and
 * their own requests, stay. With `updateIdPrefix`, each Update's id is `<prefix>:<request id>`, so
 * a retried step moves nothing twice. Returns how many moved.
 */
export function moveApprovals(deps: LeaveRunDeps, requests: readonly LeaveRequest[], approverId: string, updateIdPrefix?: string): Promise<number> {
  const moves = requests.filter((r) => r.status === 'pending' && r.approverId !== approverId && r.employeeId !== approverId);
  return eachRun(deps, moves, (run, r) => run.executeUpdate(reassignApproverUpdate, {
    args: [{ approverId }], ...(updateIdPrefix ? { updateId: `${updateIdPrefix}:${r.id}` } : {}),
  }), 'pending leave request not moved to the new approver');
}

/**
 * Cancels the employee's leave that can no longer be taken after their last day: every pending
 * request among `requests`, and every approved one that starts after `lastDay`, with each run's
 * `cancel` Update (days released; history `cancelled` with `comment`). An approved leave that has
 * started (it spans the last day, or its first day came before this ran) stays: those days are
 * taken. Update ids `<updateIdPrefix>:<request id>`. Returns how many were cancelled.
 */
export function cancelLeaveAfter(
  deps: LeaveRunDeps, requests: readonly LeaveRequest[], input: { employeeId: string; lastDay: string; comment: string; updateIdPrefix: string },
): Promise<number> {
  const cancels = requests.filter((r) => r.employeeId === input.employeeId
    && (r.status === 'pending' || (r.status === 'approved' && r.startDate > input.lastDay)));
  return eachRun(deps, cancels, (run, r) => run.executeUpdate(cancelLeaveUpdate, {
    updateId: `${input.updateIdPrefix}:${r.id}`, args: [{ employeeId: input.employeeId, comment: input.comment }],
  }), 'leave request not cancelled: decided meanwhile, or started');
}

/** Both, bound to `deps`: what the offboarding activities are given (activities/hr/offboarding-activities.ts `LeaveRunUpdates`). */
export function leaveRunsOf(deps: LeaveRunDeps) {
  return {
    moveApprovals: (requests: readonly LeaveRequest[], approverId: string, updateIdPrefix?: string) =>
      moveApprovals(deps, requests, approverId, updateIdPrefix),
    cancelLeaveAfter: (requests: readonly LeaveRequest[], input: Parameters<typeof cancelLeaveAfter>[2]) => cancelLeaveAfter(deps, requests, input),
  };
}
