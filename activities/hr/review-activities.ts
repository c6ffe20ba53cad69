import type pg from 'pg';
import { withTransaction } from '../../store/db.js';
import { lockReviewCycle, markReviewCycleClosed, markReviewCycleOpen } from '../../store/hr/review-cycles.js';
import { appendReminderEvents, escalateOverdueReviews, finalizeCycleReviews, openReviews } from '../../store/hr/reviews.js';
import { asActivityStep } from '../failure.js';

type CycleRef = { tenantId: string; cycleId: string };

/**
 * The steps of the review cycle workflow (workflows/hr/review-cycle.ts). Each is ONE transaction of
 * set-based statements guarded by the cycle's or the reviews' status, so a retry after its commit
 * (a worker killed before Temporal heard of it) finds the work done and does nothing twice; the
 * reminders and escalation events are keyed per cycle and person in the outbox.
 */
export function createReviewCycleActivities({ pool }: { pool: pg.Pool }) {
  return {
    /** One review per active employee (INSERT … SELECT) → the cycle `open`; returns the review count. */
    async openReviewCycle(ref: CycleRef): Promise<number> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const cycle = await lockReviewCycle(client, ref.tenantId, ref.cycleId);
        if (cycle.status !== 'opening') return cycle.reviewsCount;
        const count = await openReviews(client, { ...ref, nowMs: Date.now() });
        await markReviewCycleOpen(client, ref.tenantId, ref.cycleId, count);
        return count;
      }));
    },

    /** One `review.reminder` per person still owing a review of `kind`; returns how many events were new. */
    async remindReviewers(step: CycleRef & { kind: 'self' | 'manager'; dueAt: string }): Promise<number> {
      return asActivityStep(() => withTransaction(pool, (client) => appendReminderEvents(client, { ...step, nowMs: Date.now() })));
    },

    /** Reviews still waiting after the manager due date go to the reviewer's manager (notified); returns how many moved. */
    async escalateOverdueReviews(ref: CycleRef): Promise<number> {
      return asActivityStep(() => withTransaction(pool, (client) => escalateOverdueReviews(client, { ...ref, nowMs: Date.now() })));
    },

    /** `open` → `closed`: the ratings final, reviews still waiting `incomplete` (a no-op once closed). */
    async closeReviewCycle(step: CycleRef & { closedBy: string }): Promise<number> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const cycle = await lockReviewCycle(client, step.tenantId, step.cycleId);
        if (await markReviewCycleClosed(client, step.tenantId, step.cycleId, step.closedBy)) {
          await finalizeCycleReviews(client, step.tenantId, step.cycleId);
        }
        return cycle.reviewsCount;
      }));
    },
  };
}

export type ReviewCycleActivities = ReturnType<typeof createReviewCycleActivities>;
