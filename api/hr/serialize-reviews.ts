import { z } from '@hono/zod-openapi';
import { REVIEW_CYCLE_STATUSES, REVIEW_STATUSES } from '../../domain/hr/reviews.js';
import type { ReviewCycle } from '../../store/hr/review-cycles.js';
import type { Review } from '../../store/hr/reviews.js';

/** Review cycles, reviews and the summary as the API answers them (contract §11). */

export const ReviewCycleBody = z
  .object({
    id: z.string(), object: z.literal('review_cycle'), name: z.string(), status: z.enum(REVIEW_CYCLE_STATUSES),
    period_start: z.string(), period_end: z.string(), self_review_due: z.string(), manager_review_due: z.string(),
    employee_ids: z.array(z.string()).nullable(), reviews_count: z.number().int(),
    opened_at: z.string().nullable(), closed_at: z.string().nullable(), closed_by: z.string().nullable(), created_at: z.string(),
  })
  .openapi('ReviewCycle');

export const serializeReviewCycle = (c: ReviewCycle): z.infer<typeof ReviewCycleBody> => ({
  id: c.id, object: 'review_cycle', name: c.name, status: c.status, period_start: c.periodStart, period_end: c.periodEnd,
  self_review_due: c.selfReviewDue.toISOString(), manager_review_due: c.managerReviewDue.toISOString(),
  employee_ids: c.employeeIds, reviews_count: c.reviewsCount, opened_at: c.openedAt?.toISOString() ?? null,
  closed_at: c.closedAt?.toISOString() ?? null, closed_by: c.closedBy, created_at: c.createdAt.toISOString(),
});

export const ReviewBody = z
  .object({
    id: z.string(), object: z.literal('review'), cycle_id: z.string(), employee_id: z.string(),
    reviewer_id: z.string().nullable().openapi({ description: 'Who writes the manager review now (null: the employee has no manager).' }),
    department: z.string(), status: z.enum(REVIEW_STATUSES),
    self_review: z.object({ rating: z.number().int(), answers: z.record(z.string(), z.string()), submitted_at: z.string() }).nullable(),
    manager_review: z.object({ rating: z.number().int(), comments: z.string(), submitted_by: z.string(), submitted_at: z.string() }).nullable(),
    final_rating: z.number().int().nullable().openapi({ description: 'Set when the cycle closes: the manager rating of a completed review.' }),
    escalated_from: z.string().nullable(), escalated_at: z.string().nullable(), cancelled_reason: z.string().nullable(),
    created_at: z.string(), updated_at: z.string(),
  })
  .openapi('Review');

export const serializeReview = (r: Review): z.infer<typeof ReviewBody> => ({
  id: r.id, object: 'review', cycle_id: r.cycleId, employee_id: r.employeeId, reviewer_id: r.reviewerId, department: r.department,
  status: r.status,
  self_review: r.selfRating === null
    ? null : { rating: r.selfRating, answers: r.selfAnswers ?? {}, submitted_at: r.selfSubmittedAt!.toISOString() },
  manager_review: r.managerRating === null
    ? null
    : { rating: r.managerRating, comments: r.managerComments ?? '', submitted_by: r.managerSubmittedBy ?? '', submitted_at: r.managerSubmittedAt!.toISOString() },
  final_rating: r.finalRating, escalated_from: r.escalatedFrom, escalated_at: r.escalatedAt?.toISOString() ?? null,
  cancelled_reason: r.cancelledReason, created_at: r.createdAt.toISOString(), updated_at: r.updatedAt.toISOString(),
});

const Distribution = z.object({ 1: z.number().int(), 2: z.number().int(), 3: z.number().int(), 4: z.number().int(), 5: z.number().int() });

export const ReviewSummaryBody = z
  .object({
    object: z.literal('review_cycle_summary'), cycle_id: z.string(), status: z.enum(REVIEW_CYCLE_STATUSES),
    final: z.boolean().openapi({ description: 'True once the cycle is closed (final ratings); before, the manager ratings so far.' }),
    reviews: z.number().int(), rated: z.number().int(), distribution: Distribution, average_rating: z.number().nullable(),
    departments: z.array(z.object({
      department: z.string(), reviews: z.number().int(), rated: z.number().int(), distribution: Distribution, average_rating: z.number().nullable(),
    })),
  })
  .openapi('ReviewCycleSummary');
