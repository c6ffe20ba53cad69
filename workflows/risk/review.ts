import { ApplicationFailure, condition, defineUpdate, patched, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RiskActivities } from '../../activities/risk/risk-activities.js';
import type { ReviewDecision, ReviewObjectType, RiskAssessment } from '../../domain/risk/types.js';
import { localLedgerActivity, localMustFinishActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';

/**
 * Fraud scoring and manual review as steps of the transfer and payment workflows (contract §8).
 * Behind the patch `risk-scoring` (release 0.3.0): runs started before it replay without a score.
 */
export const RISK_SCORING_PATCH = 'risk-scoring';

/** A review's default life when an older caller names none (RISK_REVIEW_TIMEOUT's default). */
export const REVIEW_TIMEOUT_DEFAULT_MS = 24 * 60 * 60 * 1000;

export interface DecideReviewArgs {
  decision: 'approved' | 'declined';
  /** `admin`, or the acting user's `sub`. */
  decidedBy: string;
  note?: string;
}

/**
 * A person's decision on the run's open review (the API's `POST /v1/risk/reviews/:id/approve|decline`).
 * Refused with `review_invalid_state` once the review is decided or expired (or was never opened).
 */
export const decideReviewUpdate = defineUpdate<{ status: ReviewDecision }, [DecideReviewArgs]>('decideReview');

export const riskScored = (): boolean => patched(RISK_SCORING_PATCH);

/** The risk steps: scoring may be retried a few times; opening and deciding a review must finish. */
export const riskSteps = proxyLocalActivities<RiskActivities>(localLedgerActivity);
export const riskMustFinish = proxyLocalActivities<RiskActivities>(localMustFinishActivity);

export interface ReviewSubject {
  tenantId: string;
  objectType: ReviewObjectType;
  objectId: string;
  amountMinor: number;
  currency: string;
  reviewTimeoutMs: number;
}

const invalidState = (message: string) => ApplicationFailure.create({ type: 'review_invalid_state', message, nonRetryable: true });

/**
 * The run's review desk, set up first thing in a scored run (before any await), so a decision that
 * reaches the run before it has seen its review open waits for it instead of being refused.
 * `review` opens the review (BusinessStatus `in_review`), waits durably for the `decideReview`
 * Update or the timer (`expired`), and returns the decision on record. One decision only: the
 * validator refuses a second, and the expiry does not race an accepted one (it waits for it).
 */
export function reviewDesk() {
  let reviewId: string | null = null;
  let decision: ReviewDecision | null = null;
  let deciding = false;
  let closed = false;

  setHandler(decideReviewUpdate, async (args) => {
    deciding = true;
    await condition(() => reviewId !== null);
    const recorded = await riskMustFinish.decideRiskReview({
      reviewId: reviewId!, decision: args.decision, decidedBy: args.decidedBy, note: args.note ?? null,
    });
    decision = recorded.status;
    return recorded;
  }, {
    validator: (_args: DecideReviewArgs) => {
      if (closed || deciding || decision !== null) throw invalidState('The review is decided already.');
    },
  });

  return {
    /** `onOpen`: called once the review is on record (the run may then answer that it waits). */
    async review(subject: ReviewSubject, assessment: RiskAssessment, onOpen: () => void = () => undefined): Promise<ReviewDecision> {
      const opened = await riskMustFinish.openRiskReview({
        tenantId: subject.tenantId, objectType: subject.objectType, objectId: subject.objectId,
        workflowId: workflowInfo().workflowId, assessment, amountMinor: subject.amountMinor, currency: subject.currency,
        expiresInMs: subject.reviewTimeoutMs,
      });
      reviewId = opened.reviewId;
      setBusinessStatus('in_review');
      onOpen();
      if (!(await condition(() => decision !== null || deciding, subject.reviewTimeoutMs)) && !deciding) {
        deciding = true;
        const recorded = await riskMustFinish.decideRiskReview({ reviewId, decision: 'expired', decidedBy: null, note: null });
        decision = recorded.status;
      }
      await condition(() => decision !== null);
      return decision!;
    },
    /** No review opens after this (a run that ends, or one that passed its review step). */
    close(): void {
      if (reviewId === null) closed = true;
    },
  };
}
