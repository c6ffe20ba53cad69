import { allHandlersFinished, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ReviewCycleActivities } from '../../activities/hr/review-activities.js';
import { cycleTimeline } from '../../domain/hr/reviews.js';
import { sweepActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import { closeReviewCycleUpdate, type ReviewCycleInput, type ReviewCycleResult } from './review-cycle-types.js';

/**
 * A performance review cycle (contract §11), ONE run per cycle (`review-cycle-<rc_id>`): it opens
 * every review in one INSERT … SELECT (10,000 employees: one activity, no employee id in the
 * history — not 10,000 children, whose starts alone would take minutes on one history shard), then
 * sleeps on durable timers to each step: remind the employees still owing their self review
 * REVIEW_REMINDER_BEFORE the self due date, remind the reviewers before the manager due date,
 * escalate the reviews still waiting REVIEW_ESCALATION_AFTER the manager due date to the reviewer's
 * manager; then it waits for the `close` Update, which makes the ratings final. Submissions are API
 * writes on the review rows (their status is the state), so the run's history stays a few dozen
 * events whatever the size of the cycle. `BusinessStatus` names the human step being waited for.
 */
export async function reviewCycle(input: ReviewCycleInput): Promise<ReviewCycleResult> {
  const hr = proxyActivities<ReviewCycleActivities>(sweepActivity);
  const opener = proxyActivities<ReviewCycleActivities>({ ...sweepActivity, startToCloseTimeout: input.openTimeoutMs });
  const ref = { tenantId: input.tenantId, cycleId: input.cycleId };
  let opened = false;
  let closed = false;
  let stepping = false;
  let reviewsCount = 0;

  setHandler(closeReviewCycleUpdate, async (args) => {
    await condition(() => opened && !stepping); // a sweep in flight finishes first
    if (!closed) {
      reviewsCount = await hr.closeReviewCycle({ ...ref, closedBy: args.closedBy });
      closed = true;
      setBusinessStatus('closed');
    }
    return { status: 'closed', reviewsCount };
  });

  /** Sleeps until `atMs` (woken early by the close); then runs `step` unless the cycle closed. */
  const at = async (atMs: number, step: () => Promise<unknown>) => {
    const waitMs = atMs - Date.now();
    if (waitMs > 0) await condition(() => closed, waitMs);
    if (closed) return;
    stepping = true;
    try {
      await step();
    } finally {
      stepping = false;
    }
  };

  setBusinessStatus('opening');
  reviewsCount = await opener.openReviewCycle(ref);
  opened = true;
  const selfDueMs = Date.parse(input.selfReviewDue);
  const managerDueMs = Date.parse(input.managerReviewDue);
  const t = cycleTimeline({
    selfReviewDueMs: selfDueMs, managerReviewDueMs: managerDueMs, reminderBeforeMs: input.reminderBeforeMs, escalationAfterMs: input.escalationAfterMs,
  });
  // A reminder whose due date has passed by then is not sent (a cycle created late).
  const remind = (kind: 'self' | 'manager', dueMs: number, dueAt: string) => async () => {
    if (Date.now() < dueMs) await hr.remindReviewers({ ...ref, kind, dueAt });
  };
  if (!closed) setBusinessStatus('awaiting_self_reviews');
  await at(t.selfReminderAtMs, remind('self', selfDueMs, input.selfReviewDue));
  await at(t.selfDueAtMs, async () => setBusinessStatus('awaiting_manager_reviews'));
  await at(t.managerReminderAtMs, remind('manager', managerDueMs, input.managerReviewDue));
  await at(t.escalationAtMs, async () => {
    await hr.escalateOverdueReviews(ref);
    setBusinessStatus('awaiting_close');
  });
  await condition(() => closed);
  await condition(allHandlersFinished);
  return { status: 'closed', reviewsCount };
}
