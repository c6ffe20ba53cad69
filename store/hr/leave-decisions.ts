import type pg from 'pg';
import { LeaveError, LeaveInvariantError } from '../../domain/hr/errors.js';
import {
  approverChangeNeeded, checkComment, decisionEntry, decisionLedgerRows, escalationEntry, isReplay, leaveEventPayload,
} from '../../domain/hr/leave-requests.js';
import { assertMayDecide, DECISION_ACTIONS, nextLeaveStatus, type LeaveDecision } from '../../domain/hr/leave-state.js';
import type { LeaveRequest } from '../../domain/hr/types.js';
import { utcToday } from '../../domain/hr/working-days.js';
import { appendOutboxEvent } from '../outbox/outbox.js';
import { pgErrorOf } from '../rows.js';
import { findEmployee, managerOf } from './employees.js';
import { appendLedgerRows } from './leave-ledger.js';
import { findLeaveRequest, lockLeaveRequest, writeLeaveRequestChange } from './leave-requests.js';

/**
 * What happens to a leave request after it was made: decisions and escalation, each under the
 * request's row lock with its ledger rows and outbox event (the rules: domain/hr/leave-requests.ts).
 */

export { COMMENT_LENGTH_MAX } from '../../domain/hr/leave-requests.js';

export interface LeaveDecisionInput {
  tenantId: string;
  requestId: string;
  decision: LeaveDecision;
  /** Who decides; null: the system (auto-approval without an approver, expiry, ops cancel). */
  actorId: string | null;
  comment?: string | null;
  /** One per decision (e.g. `leave-lr_…:approve`), unique in the tenant: a retry finds its rows and writes nothing. */
  idempotencyKey: string;
  /** ISO date (UTC) deciding whether an approved leave has started; default today. */
  today?: string;
}

/**
 * Applies a decision under the request's row lock, in the caller's transaction: the status,
 * a history entry and the ledger rows together (approve: the reservation becomes usage;
 * reject, cancel of a pending request, expire: the reservation is released; cancel of an
 * approved leave that has not started: the usage is returned). Errors: `resource_missing`,
 * `not_approver`, `leave_request_invalid_state`. A replayed key returns the request as it is now
 * with `replayed: true`.
 */
export async function decideLeaveRequest(
  client: pg.PoolClient,
  input: LeaveDecisionInput,
): Promise<{ request: LeaveRequest; replayed: boolean }> {
  checkComment(input.comment);
  const current = await lockLeaveRequest(client, input.tenantId, input.requestId);
  // After the lock: a concurrent attempt with this key has committed or rolled back by now.
  if (isReplay(current, input.idempotencyKey, DECISION_ACTIONS[input.decision])) return { request: current, replayed: true };
  assertMayDecide(input.decision, input.actorId, current);
  const status = nextLeaveStatus(current.status, input.decision, { startDate: current.startDate, today: input.today ?? utcToday() });
  await appendLedgerRows(client, decisionLedgerRows(current, status, input.idempotencyKey)).catch((err: unknown) => {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23505' && constraint === 'leave_ledger_idempotency') {
      throw new LeaveInvariantError(`leave ledger key ${input.idempotencyKey} was used for another write`);
    }
    throw err;
  });
  const entry = decisionEntry(input, status, new Date().toISOString());
  const request = await writeLeaveRequestChange(client, current, { status, approverId: current.approverId, entry });
  await appendOutboxEvent(client, {
    tenantId: request.tenantId, topic: 'leave.decided', idempotencyKey: `${input.idempotencyKey}:event`,
    payload: { ...leaveEventPayload(request), decision: status, approver_id: request.approverId, actor_id: input.actorId },
  });
  return { request, replayed: false };
}

export interface ApproverChange {
  tenantId: string;
  requestId: string;
  approverId: string;
  /** Why (e.g. "undecided after 48 h"): kept in the history entry's comment. */
  note?: string | null;
  /**
   * One per escalation step: a retry finds its history entry and changes nothing (without a
   * key, a retry computing "the approver's manager" again would escalate one level too far).
   */
  idempotencyKey?: string;
  /** `reassigned`: the employee's manager changed; default `escalated`. */
  action?: 'escalated' | 'reassigned';
}

/**
 * Hands a pending request to another approver (escalation, or a new manager) with an `escalated` history entry.
 * Already that approver, or a replayed key: nothing changes. Errors: `resource_missing` (request, approver),
 * `parameter_invalid` (the employee themselves), `leave_request_invalid_state` (not pending).
 */
export async function setApprover(client: pg.PoolClient, input: ApproverChange): Promise<LeaveRequest> {
  checkComment(input.note, 'note');
  const current = await lockLeaveRequest(client, input.tenantId, input.requestId);
  if (input.idempotencyKey !== undefined && isReplay(current, input.idempotencyKey, input.action ?? 'escalated')) return current;
  if (!approverChangeNeeded(current, input.approverId)) return current;
  if (!(await findEmployee(client, input.tenantId, input.approverId))) {
    throw new LeaveError('resource_missing', `No such employee (approver_id): ${input.approverId}`, 'approver_id');
  }
  const entry = escalationEntry(current, input, new Date().toISOString());
  return writeLeaveRequestChange(client, current, { status: 'pending', approverId: input.approverId, entry });
}

/**
 * One escalation step: hands a pending request to its current approver's manager and emits
 * `leave.requested` to them, in the caller's transaction. Returns the approver from now on:
 * unchanged when there is nobody above (or only the employee), when the request is no longer
 * pending, or when a decision won the race; null when the request is gone or has no approver.
 */
export async function escalateLeaveRequest(
  client: pg.PoolClient,
  step: { tenantId: string; requestId: string; idempotencyKey: string },
): Promise<string | null> {
  const request = await findLeaveRequest(client, step.tenantId, step.requestId);
  if (!request || request.status !== 'pending' || !request.approverId) return request?.approverId ?? null;
  const next = await managerOf(client, step.tenantId, request.approverId);
  if (!next || next === request.employeeId) return request.approverId;
  try {
    const escalated = await setApprover(client, {
      tenantId: step.tenantId, requestId: step.requestId, approverId: next,
      note: `Escalated: no decision by ${request.approverId}`, idempotencyKey: step.idempotencyKey,
    });
    const employee = await findEmployee(client, step.tenantId, escalated.employeeId);
    await appendOutboxEvent(client, {
      tenantId: step.tenantId, topic: 'leave.requested', idempotencyKey: `${step.idempotencyKey}:event`,
      payload: {
        ...leaveEventPayload(escalated), approver_id: next, escalated_from: request.approverId,
        employee_name: employee ? `${employee.firstName} ${employee.lastName}` : escalated.employeeId,
      },
    });
  } catch (err) {
    // Decided in the meantime (a decision and the escalation raced): nothing to escalate.
    if (err instanceof LeaveError && err.code === 'leave_request_invalid_state') return request.approverId;
    throw err;
  }
  return next;
}

/**
 * The employee's manager changed: a pending request moves to `approverId` (the new manager) with a
 * `reassigned` history entry, and `leave.requested` is emitted to them, in the caller's transaction.
 * Returns the approver from now on: unchanged when the request is no longer pending (a decision
 * won the race) or is already theirs; a replayed key changes nothing.
 */
export async function reassignLeaveRequest(
  client: pg.PoolClient,
  step: { tenantId: string; requestId: string; approverId: string; idempotencyKey: string },
): Promise<string | null> {
  const request = await findLeaveRequest(client, step.tenantId, step.requestId);
  if (!request || request.status !== 'pending' || request.approverId === step.approverId) return request?.approverId ?? null;
  const moved = await setApprover(client, {
    tenantId: step.tenantId, requestId: step.requestId, approverId: step.approverId, action: 'reassigned',
    note: `The employee's manager is now ${step.approverId}`, idempotencyKey: step.idempotencyKey,
  });
  const employee = await findEmployee(client, step.tenantId, moved.employeeId);
  await appendOutboxEvent(client, {
    tenantId: step.tenantId, topic: 'leave.requested', idempotencyKey: `${step.idempotencyKey}:event`,
    payload: {
      ...leaveEventPayload(moved), approver_id: step.approverId, reassigned_from: request.approverId,
      employee_name: employee ? `${employee.firstName} ${employee.lastName}` : moved.employeeId,
    },
  });
  return moved.approverId;
}
