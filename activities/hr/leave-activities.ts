import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import { LeaveError } from '../../domain/hr/errors.js';
import { withTransaction } from '../../platform/db.js';
import { appendOutboxEvent } from '../outbox/outbox.js';
import { findEmployee, managerOf } from './employees.js';
import { decideLeaveRequest, findLeaveRequest, setApprover } from './leave.js';
import { leaveEventPayload } from './leave-requests.js';

type Step = { tenantId: string; requestId: string; idempotencyKey: string };

async function final<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LeaveError) throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: true });
    throw err;
  }
}

/**
 * Records that the recipient was notified. The event itself is in the outbox already, written in
 * the transaction of the change (request, decision, escalation); the relay delivers it. Keyed, so
 * a retried step records once.
 */
async function notify(pool: pg.Pool, step: Step, topic: string, recipientId: string) {
  await pool.query(
    `UPDATE leave_requests SET history = history || jsonb_build_array(jsonb_build_object(
       'at', now(), 'action', 'notified', 'event', $3::text, 'recipient_id', $4::text, 'idempotency_key', $5::text)),
       updated_at = now()
     WHERE id = $1 AND tenant_id = $2
       AND NOT history @> jsonb_build_array(jsonb_build_object('idempotency_key', $5::text))`,
    [step.requestId, step.tenantId, topic, recipientId, step.idempotencyKey],
  );
}

/** The steps of the leave approval workflow, each idempotent by its key. */
export function createLeaveActivities({ pool }: { pool: pg.Pool }) {
  return {
    async notifyApprover(step: Step & { approverId: string; event: string }): Promise<void> {
      await notify(pool, step, step.event, step.approverId);
    },

    async notifyEmployee(step: Step & { employeeId: string; event: string }): Promise<void> {
      await notify(pool, step, step.event, step.employeeId);
    },

    async decideLeave(step: Step & { decision: 'approve' | 'reject' | 'cancel' | 'expire'; actorId: string | null; comment: string | null }) {
      await final(() => withTransaction(pool, (client) => decideLeaveRequest(client, {
        tenantId: step.tenantId, requestId: step.requestId, decision: step.decision, actorId: step.actorId,
        comment: step.comment, idempotencyKey: step.idempotencyKey,
      })));
    },

    /** Hands the request to the current approver's manager; null when there is none (it stays). */
    async escalateLeave(step: Step): Promise<string | null> {
      return final(() => withTransaction(pool, async (client) => {
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
      }));
    },
  };
}

export type LeaveActivities = ReturnType<typeof createLeaveActivities>;
