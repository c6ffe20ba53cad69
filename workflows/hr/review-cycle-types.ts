import { defineUpdate } from '@temporalio/workflow';
import type { ReviewCycleStatus } from '../../domain/hr/reviews.js';

/** Input and Updates of the review cycle workflow: shared by the API and the workflow. */

export interface ReviewCycleInput {
  tenantId: string;
  cycleId: string;
  /** ISO timestamps: the workflow's timers are set from them (reminders before, the escalation after). */
  selfReviewDue: string;
  managerReviewDue: string;
  /** REVIEW_REMINDER_BEFORE, REVIEW_ESCALATION_AFTER, REVIEW_OPEN_TIMEOUT (the workflow reads no env). */
  reminderBeforeMs: number;
  escalationAfterMs: number;
  openTimeoutMs: number;
}

export interface ReviewCycleResult {
  status: ReviewCycleStatus;
  reviewsCount: number;
}

export interface CloseReviewCycleArgs {
  /** Who closed it: the acting user's `sub`, or `admin`/the API key's owner (contract §0). */
  closedBy: string;
}

/** Close the cycle: the manager ratings become final, reviews still waiting `incomplete`. Answers once closed. */
export const closeReviewCycleUpdate = defineUpdate<ReviewCycleResult, [CloseReviewCycleArgs]>('close');
