import type pg from 'pg';
import { LeaveError, LeaveInvariantError } from '../../domain/hr/errors.js';
import { assertMayDecide, DECISION_ACTIONS, ledgerMovesFor, nextLeaveStatus, type LeaveDecision } from '../../domain/hr/leave-state.js';
import type { LeaveHistoryAction, LeaveHistoryEntry, LeaveRequest, LeaveStatus } from '../../domain/hr/types.js';
import { findEmployee } from './employees.js';
import { appendLedgerRows } from './leave-ledger.js';
import { LEAVE_REQUEST_COLUMNS, leaveEventPayload, lockLeaveRequest, toLeaveRequest } from './leave-requests.js';
import { pgErrorOf, utcToday } from './rows.js';
import { appendOutboxEvent } from '../outbox/outbox.js';

/** What happens to a leave request after it was made: decisions and escalation. */

export const COMMENT_LENGTH_MAX = 1000;

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
  await appendLedgerRows(client, ledgerMovesFor(current.status, status, current.days).map((move) => ({
    tenantId: current.tenantId, employeeId: current.employeeId, leaveType: current.leaveType,
    year: Number(current.startDate.slice(0, 4)), kind: move.kind, days: move.days, leaveRequestId: current.id,
    idempotencyKey: `${input.idempotencyKey}${move.keySuffix}`,
  }))).catch((err: unknown) => {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23505' && constraint === 'leave_ledger_idempotency') {
      throw new LeaveInvariantError(`leave ledger key ${input.idempotencyKey} was used for another write`);
    }
    throw err;
  });
  const entry: LeaveHistoryEntry = {
    at: new Date().toISOString(), action: DECISION_ACTIONS[input.decision], status,
    ...(input.actorId !== null ? { actor_id: input.actorId } : {}),
    ...(input.comment ? { comment: input.comment } : {}),
    idempotency_key: input.idempotencyKey,
  };
  const request = await writeChange(client, current, { status, approverId: current.approverId, entry });
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
}

/**
 * Hands a pending request to another approver (escalation) with an `escalated` history entry.
 * Already that approver, or a replayed key: nothing changes. Errors: `resource_missing` (request, approver),
 * `parameter_invalid` (the employee themselves), `leave_request_invalid_state` (not pending).
 */
export async function setApprover(client: pg.PoolClient, input: ApproverChange): Promise<LeaveRequest> {
  checkComment(input.note, 'note');
  const current = await lockLeaveRequest(client, input.tenantId, input.requestId);
  if (input.idempotencyKey !== undefined && isReplay(current, input.idempotencyKey, 'escalated')) return current;
  if (current.status !== 'pending') {
    throw new LeaveError('leave_request_invalid_state', `The leave request is ${current.status}: only a pending one changes approver.`);
  }
  if (input.approverId === current.approverId) return current;
  if (input.approverId === current.employeeId) {
    throw new LeaveError('parameter_invalid', 'An employee cannot approve their own leave.', 'approver_id');
  }
  if (!(await findEmployee(client, input.tenantId, input.approverId))) {
    throw new LeaveError('resource_missing', `No such employee (approver_id): ${input.approverId}`, 'approver_id');
  }
  const entry: LeaveHistoryEntry = {
    at: new Date().toISOString(), action: 'escalated', status: 'pending',
    approver_id: input.approverId, previous_approver_id: current.approverId,
    ...(input.note ? { comment: input.note } : {}),
    ...(input.idempotencyKey !== undefined ? { idempotency_key: input.idempotencyKey } : {}),
  };
  return writeChange(client, current, { status: 'pending', approverId: input.approverId, entry });
}

/**
 * Whether the change keyed `idempotencyKey` is already in the request's history. The same key
 * for another action (or on another request: the ledger's unique key refuses that) is a bug.
 */
function isReplay(current: LeaveRequest, idempotencyKey: string, action: LeaveHistoryAction): boolean {
  const earlier = current.history.find((entry) => entry.idempotency_key === idempotencyKey);
  if (earlier && earlier.action !== action) {
    throw new LeaveInvariantError(`key ${idempotencyKey} of leave request ${current.id} was used for ${earlier.action}`);
  }
  return earlier !== undefined;
}

function checkComment(comment: string | null | undefined, param = 'comment'): void {
  if (comment && comment.length > COMMENT_LENGTH_MAX) {
    throw new LeaveError('parameter_invalid', `${param} is at most ${COMMENT_LENGTH_MAX} characters.`, param);
  }
}

/** The one write that changes a locked request: status, approver and one more history entry. */
async function writeChange(
  client: pg.PoolClient,
  current: LeaveRequest,
  change: { status: LeaveStatus; approverId: string | null; entry: LeaveHistoryEntry },
): Promise<LeaveRequest> {
  const { rows } = await client.query(
    `UPDATE leave_requests SET status = $3, approver_id = $4, history = history || $5::jsonb, updated_at = $6
     WHERE tenant_id = $1 AND id = $2 RETURNING ${LEAVE_REQUEST_COLUMNS}`,
    [current.tenantId, current.id, change.status, change.approverId, JSON.stringify([change.entry]), change.entry.at],
  );
  return toLeaveRequest(rows[0]);
}
