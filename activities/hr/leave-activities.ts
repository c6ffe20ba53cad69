import type pg from 'pg';
import { withTransaction } from '../../store/db.js';
import { appendNotifiedEntry, decideLeaveRequest, escalateLeaveRequest, reassignLeaveRequest } from '../../store/hr/leave.js';
import { asActivityStep } from '../failure.js';

type Step = { tenantId: string; requestId: string; idempotencyKey: string };

/**
 * The steps of the leave approval workflow, each idempotent by its key. Notifying only records
 * that the recipient was notified: the event itself is in the outbox already, written in the
 * transaction of the change (request, decision, escalation), and the relay delivers it.
 */
export function createLeaveActivities({ pool }: { pool: pg.Pool }) {
  return {
    async notifyApprover(step: Step & { approverId: string; event: string }): Promise<void> {
      await appendNotifiedEntry(pool, { ...step, recipientId: step.approverId });
    },

    async notifyEmployee(step: Step & { employeeId: string; event: string }): Promise<void> {
      await appendNotifiedEntry(pool, { ...step, recipientId: step.employeeId });
    },

    async decideLeave(step: Step & { decision: 'approve' | 'reject' | 'cancel' | 'expire'; actorId: string | null; comment: string | null }) {
      await asActivityStep(() => withTransaction(pool, (client) => decideLeaveRequest(client, {
        tenantId: step.tenantId, requestId: step.requestId, decision: step.decision, actorId: step.actorId,
        comment: step.comment, idempotencyKey: step.idempotencyKey,
      })));
    },

    /** Hands the request to the current approver's manager; null when there is none (it stays). */
    async escalateLeave(step: Step): Promise<string | null> {
      return asActivityStep(() => withTransaction(pool, (client) => escalateLeaveRequest(client, step)));
    },

    /** Hands the request to the employee's new manager; returns the approver on record (unchanged once decided). */
    async reassignLeave(step: Step & { approverId: string }): Promise<string | null> {
      return asActivityStep(() => withTransaction(pool, (client) => reassignLeaveRequest(client, step)));
    },
  };
}

export type LeaveActivities = ReturnType<typeof createLeaveActivities>;
