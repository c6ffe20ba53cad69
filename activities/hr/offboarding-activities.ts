import type pg from 'pg';
import type { LeaveRequest } from '../../domain/hr/types.js';
import { withTransaction } from '../../store/db.js';
import { listReports, managerOf, markTerminated, setManager } from '../../store/hr/employees.js';
import { listOpenLeaveRequests } from '../../store/hr/leave.js';
import { cancelReviewsOf, handOverReviews } from '../../store/hr/reviews.js';
import { asActivityStep } from '../failure.js';

type Step = { tenantId: string; employeeId: string; idempotencyKey: string };

/**
 * The leave runs' Updates, sent from outside the runs (workflows/hr/leave-runs.ts `leaveRunsOf`,
 * given by workers/registry.ts: activities never import workflows/). Each returns how many runs
 * took the change; a run that refused it (decided meanwhile, or closed) is logged and skipped.
 */
export interface LeaveRunUpdates {
  moveApprovals(requests: readonly LeaveRequest[], approverId: string, updateIdPrefix?: string): Promise<number>;
  cancelLeaveAfter(
    requests: readonly LeaveRequest[], input: { employeeId: string; lastDay: string; comment: string; updateIdPrefix: string },
  ): Promise<number>;
}

/**
 * The steps of the offboarding workflow (contract §9), each idempotent: a retry or a replayed run
 * does nothing twice. The leave steps go through the leave runs' Updates with ids derived from the
 * step's key, so a retried step cannot move or cancel twice.
 */
export function createOffboardingActivities({ pool, leaveRuns }: { pool: pg.Pool; leaveRuns: LeaveRunUpdates }) {
  return {
    /**
     * The direct reports move to the leaving employee's own manager (none: they get no manager),
     * in one transaction (setManager: no cycles); then every pending request waiting for the
     * leaving employee moves to that manager — their reports', and any escalated to them. Without
     * a manager those requests stay pending until HR names a manager for the report (which moves
     * them: `POST /v1/employees/:id`) or they expire (LEAVE_EXPIRY_AFTER). A retry finds the
     * reports moved and moves only what still waits for the leaving employee.
     */
    async handOverReports(step: Step): Promise<{ managerId: string | null; reportsMoved: number; requestsMoved: number }> {
      return asActivityStep(async () => {
        const managerId = await managerOf(pool, step.tenantId, step.employeeId);
        const reportsMoved = await withTransaction(pool, async (client) => {
          const reports = await listReports(client, step.tenantId, step.employeeId, 1);
          for (const report of reports.data) await setManager(client, { tenantId: step.tenantId, employeeId: report.id, managerId });
          return reports.data.length;
        });
        // Performance reviews waiting for the leaving employee go to the same successor (issue #21; a retry moves none twice).
        await handOverReviews(pool, { tenantId: step.tenantId, reviewerId: step.employeeId, successorId: managerId });
        if (managerId === null) return { managerId, reportsMoved, requestsMoved: 0 };
        const waiting = await listOpenLeaveRequests(pool, step.tenantId, { approverId: step.employeeId });
        return { managerId, reportsMoved, requestsMoved: await leaveRuns.moveApprovals(waiting, managerId, step.idempotencyKey) };
      });
    },

    /** The employee's pending leave, and approved leave after their last day, is cancelled (days released). */
    async cancelLeaveAfterLastDay(step: Step & { lastDay: string }): Promise<number> {
      const open = await listOpenLeaveRequests(pool, step.tenantId, { employeeId: step.employeeId });
      return leaveRuns.cancelLeaveAfter(open, {
        employeeId: step.employeeId, lastDay: step.lastDay, updateIdPrefix: step.idempotencyKey,
        comment: `Offboarding: the employee's last day was ${step.lastDay}.`,
      });
    },

    /** `status = 'terminated'` (a no-op once set); first, the employee's own waiting performance reviews are `cancelled` (issue #21). */
    async markEmployeeTerminated(step: Omit<Step, 'idempotencyKey'>): Promise<void> {
      await asActivityStep(async () => {
        await cancelReviewsOf(pool, { ...step, reason: 'The employee was terminated.' });
        await markTerminated(pool, step.tenantId, step.employeeId);
      });
    },
  };
}

export type OffboardingActivities = ReturnType<typeof createOffboardingActivities>;
