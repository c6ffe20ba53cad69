import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { LeaveError } from '../../domain/hr/errors.js';
import { withTransaction } from '../../platform/db.js';
import { managerOf } from './employees.js';
import { decideLeaveRequest, findLeaveRequest, setApprover } from './leave.js';

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
 * Writes an outbox row (the notification relay of issue #5 will deliver it) and, only when it is
 * new, the matching history entry: a retried notification neither sends nor records twice.
 */
async function notify(pool: pg.Pool, step: Step, topic: string, recipientId: string, extra: Record<string, unknown>) {
  await withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      `INSERT INTO outbox (id, tenant_id, topic, idempotency_key, payload) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
      [newId('event'), step.tenantId, topic, step.idempotencyKey,
        { leave_request_id: step.requestId, recipient_id: recipientId, ...extra }],
    );
    if (rowCount === 0) return;
    await client.query(
      `UPDATE leave_requests SET history = history || jsonb_build_array(jsonb_build_object(
         'at', now(), 'action', 'notified', 'event', $3::text, 'recipient_id', $4::text)), updated_at = now()
       WHERE id = $1 AND tenant_id = $2`,
      [step.requestId, step.tenantId, topic, recipientId],
    );
  });
}

/** The steps of the leave approval workflow, each idempotent by its key. */
export function createLeaveActivities({ pool }: { pool: pg.Pool }) {
  return {
    async notifyApprover(step: Step & { approverId: string; event: string }): Promise<void> {
      await notify(pool, step, step.event, step.approverId, { role: 'approver' });
    },

    async notifyEmployee(step: Step & { employeeId: string; event: string }): Promise<void> {
      await notify(pool, step, step.event, step.employeeId, { role: 'employee' });
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
          await setApprover(client, {
            tenantId: step.tenantId, requestId: step.requestId, approverId: next,
            note: `Escalated: no decision by ${request.approverId}`, idempotencyKey: step.idempotencyKey,
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
