import type { Config } from './config.js';

/**
 * The review cycle workflow's input from a cycle row and this process's config (the API and the
 * start reconciler build it alike; the workflow reads no env). Typed here, not imported from
 * workflows/ (platform/ may not import it): the contract table checks it at each start.
 */
export function reviewCycleWorkflowInput(
  config: Config, cycle: { id: string; tenantId: string; selfReviewDue: Date; managerReviewDue: Date },
): {
  tenantId: string; cycleId: string; selfReviewDue: string; managerReviewDue: string;
  reminderBeforeMs: number; escalationAfterMs: number; openTimeoutMs: number;
} {
  return {
    tenantId: cycle.tenantId, cycleId: cycle.id,
    selfReviewDue: cycle.selfReviewDue.toISOString(), managerReviewDue: cycle.managerReviewDue.toISOString(),
    reminderBeforeMs: config.REVIEW_REMINDER_BEFORE, escalationAfterMs: config.REVIEW_ESCALATION_AFTER, openTimeoutMs: config.REVIEW_OPEN_TIMEOUT,
  };
}
