import { DomainError } from '../errors.js';

/**
 * Performance reviews (issue #21, contract §11): the rules that need no database. A cycle opens one
 * review per employee; the employee submits the self review, then the reviewer (the manager, or
 * whoever a manager change or an escalation made the reviewer) submits the manager review — after
 * the self review, or once the self review's due date has passed without one. Closing the cycle
 * makes the manager ratings final; reviews still waiting become `incomplete`.
 */

export const REVIEW_CYCLE_STATUSES = ['opening', 'open', 'closed'] as const;
export type ReviewCycleStatus = (typeof REVIEW_CYCLE_STATUSES)[number];

export const REVIEW_STATUSES = ['awaiting_self', 'awaiting_manager', 'completed', 'incomplete', 'cancelled'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

/** Statuses a review waits for a person in (reminders, escalation, the manager-change and termination hooks). */
export const OPEN_REVIEW_STATUSES = ['awaiting_self', 'awaiting_manager'] as const satisfies readonly ReviewStatus[];

export const RATING_MIN = 1;
export const RATING_MAX = 5;

export type ReviewErrorCode = 'forbidden' | 'review_invalid_state' | 'parameter_invalid' | 'resource_missing';

export class ReviewError extends DomainError {
  override name = 'ReviewError';
  constructor(readonly code: ReviewErrorCode, message: string, override readonly param?: string) {
    super(message);
  }
}

/** What a submission rule needs to know of the review and its cycle. */
export interface SubmissionState {
  cycleStatus: ReviewCycleStatus;
  employeeId: string;
  reviewerId: string | null;
  status: ReviewStatus;
  /** The cycle's self_review_due (epoch ms). */
  selfReviewDueMs: number;
}

/** The self review: by the employee (`forbidden` otherwise), while it waits for it in an open cycle. Returns the next status. */
export function checkSelfSubmission(review: SubmissionState, actorId: string): ReviewStatus {
  if (actorId !== review.employeeId) throw new ReviewError('forbidden', 'Only the employee writes their self review.');
  if (review.cycleStatus !== 'open') throw new ReviewError('review_invalid_state', `The review cycle is ${review.cycleStatus}.`);
  if (review.status !== 'awaiting_self') throw new ReviewError('review_invalid_state', `The review is ${review.status}: the self review is closed.`);
  return 'awaiting_manager';
}

/**
 * The manager review: by the current reviewer, never the employee (`forbidden`), in an open cycle,
 * after the self review or once its due date has passed. Returns the next status.
 */
export function checkManagerSubmission(review: SubmissionState, actorId: string, nowMs: number): ReviewStatus {
  if (actorId === review.employeeId || actorId !== review.reviewerId) {
    throw new ReviewError('forbidden', 'Only the current reviewer writes the manager review (never the employee).');
  }
  if (review.cycleStatus !== 'open') throw new ReviewError('review_invalid_state', `The review cycle is ${review.cycleStatus}.`);
  switch (review.status) {
    case 'awaiting_manager':
      return 'completed';
    case 'awaiting_self':
      if (nowMs >= review.selfReviewDueMs) return 'completed';
      throw new ReviewError('review_invalid_state', 'The review waits for the self review until its due date.');
    case 'completed':
    case 'incomplete':
    case 'cancelled':
      throw new ReviewError('review_invalid_state', `The review is ${review.status}.`);
    default: {
      const unknown: never = review.status;
      throw new Error(`unknown review status ${String(unknown)}`);
    }
  }
}

/** A new cycle's dates: the period in order, the self review due no later than the manager review. */
export function checkCycleDates(c: { periodStart: string; periodEnd: string; selfReviewDueMs: number; managerReviewDueMs: number }): void {
  if (c.periodStart > c.periodEnd) throw new ReviewError('parameter_invalid', 'period_end must not be before period_start.', 'period_end');
  if (c.selfReviewDueMs > c.managerReviewDueMs) {
    throw new ReviewError('parameter_invalid', 'manager_review_due must not be before self_review_due.', 'manager_review_due');
  }
}

/** The times a cycle's workflow acts at (epoch ms), in order: reminders before each due date, the escalation after the manager due date. */
export function cycleTimeline(c: { selfReviewDueMs: number; managerReviewDueMs: number; reminderBeforeMs: number; escalationAfterMs: number }) {
  return {
    selfReminderAtMs: c.selfReviewDueMs - c.reminderBeforeMs,
    selfDueAtMs: c.selfReviewDueMs,
    managerReminderAtMs: Math.max(c.selfReviewDueMs, c.managerReviewDueMs - c.reminderBeforeMs),
    escalationAtMs: c.managerReviewDueMs + c.escalationAfterMs,
  };
}

/** One group of the summary query: reviews of a department with this rating (null: not rated). */
export interface RatingGroup {
  department: string;
  rating: number | null;
  count: number;
}

export interface DepartmentSummary {
  department: string;
  /** Reviews of the department (cancelled ones are not counted). */
  reviews: number;
  rated: number;
  /** How many reviews got each rating, "1" to "5" (every key present). */
  distribution: Record<'1' | '2' | '3' | '4' | '5', number>;
  /** The mean rating to two decimals; null when none is rated. */
  average_rating: number | null;
}

/** The rating distribution per department (by name), from the grouped counts; asserts the ratings are 1..5. */
export function summarizeRatings(groups: readonly RatingGroup[]): DepartmentSummary[] {
  const byDepartment = new Map<string, DepartmentSummary & { sum: number }>();
  for (const g of groups) {
    const d = byDepartment.get(g.department)
      ?? { department: g.department, reviews: 0, rated: 0, distribution: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 }, average_rating: null, sum: 0 };
    byDepartment.set(g.department, d);
    d.reviews += g.count;
    if (g.rating === null) continue;
    if (!Number.isInteger(g.rating) || g.rating < RATING_MIN || g.rating > RATING_MAX) throw new Error(`rating out of range: ${g.rating}`);
    d.distribution[String(g.rating) as keyof DepartmentSummary['distribution']] += g.count;
    d.rated += g.count;
    d.sum += g.rating * g.count;
  }
  return [...byDepartment.values()]
    .sort((a, b) => (a.department < b.department ? -1 : a.department > b.department ? 1 : 0))
    .map(({ sum, ...d }) => ({ ...d, average_rating: d.rated === 0 ? null : Math.round((sum / d.rated) * 100) / 100 }));
}
