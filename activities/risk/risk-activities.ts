import type pg from 'pg';
import { PaymentError } from '../../domain/payments/errors.js';
import { scoreRisk, signalWindows } from '../../domain/risk/score.js';
import type { ReviewDecision, ReviewObjectType, RiskAssessment } from '../../domain/risk/types.js';
import { withTransaction } from '../../store/db.js';
import { findPayment, setPaymentRisk } from '../../store/payments/payments.js';
import { applyTransition } from '../../store/payments/transitions.js';
import { decideReview, openReview } from '../../store/risk/reviews.js';
import { findRiskSettings } from '../../store/risk/settings.js';
import { paymentRiskSignals, transferRiskSignals, type PaymentRiskInput } from '../../store/risk/signals.js';
import { failTransfer, markTransferInReview, setTransferRisk } from '../../store/wallet/transfers.js';
import { asActivityStep } from '../failure.js';

export interface RiskActivityDeps {
  pool: pg.Pool;
}

export interface AssessTransferRiskInput {
  tenantId: string;
  transferId: string;
  fromAccountId: string;
  toAccountId: string;
  amountMinor: number;
}

export interface AssessPaymentRiskInput {
  tenantId: string;
  paymentId: string;
  /** The key of the `decline` a block writes (`${workflowId}:risk`). */
  idempotencyKey: string;
}

export interface OpenRiskReviewInput {
  tenantId: string;
  objectType: ReviewObjectType;
  objectId: string;
  workflowId: string;
  assessment: RiskAssessment;
  amountMinor: number;
  currency: string;
  expiresInMs: number;
}

export interface DecideRiskReviewInput {
  reviewId: string;
  decision: ReviewDecision;
  /** `admin`, or the acting user's `sub`; null for an expiry. */
  decidedBy: string | null;
  note: string | null;
}

/**
 * Fraud scoring and review steps (contract §8), shared by the transfer and payment workflows.
 * Each reads live data (settings, signals) and records its outcome once: a retried step finds the
 * verdict, review or decision its first attempt wrote and returns that.
 */
export function createRiskActivities({ pool }: RiskActivityDeps) {
  return {
    /** Scores a transfer before its hold; a block ends it `failed` (`risk_blocked`) in the same transaction. */
    async assessTransferRisk(input: AssessTransferRiskInput): Promise<RiskAssessment> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const settings = await findRiskSettings(client, input.tenantId);
        const signals = await transferRiskSignals(client, input, signalWindows(settings));
        const risk = await setTransferRisk(client, input.transferId, scoreRisk(signals, settings));
        if (risk.decision === 'block') await failTransfer(client, input.transferId, 'risk_blocked');
        return risk;
      }));
    },

    /** Scores a payment before its authorization; a block ends it `failed` (`risk_blocked`), no processor called. */
    async assessPaymentRisk(input: AssessPaymentRiskInput): Promise<RiskAssessment> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const payment = await findPayment(client, input.tenantId, input.paymentId);
        if (!payment) throw new PaymentError('payment_missing', input.paymentId);
        if (payment.risk) return payment.risk; // scored before: a retried step
        const m = payment.paymentMethod;
        const method: PaymentRiskInput['method'] = m.type === 'wallet'
          ? { type: 'wallet', accountId: m.walletAccountId! }
          : { type: m.type, token: m.token! };
        const settings = await findRiskSettings(client, input.tenantId);
        const signals = await paymentRiskSignals(client, {
          tenantId: input.tenantId, paymentId: payment.id, merchantAccountId: payment.merchantAccountId,
          amountMinor: payment.amountMinor, method,
        }, signalWindows(settings));
        const risk = await setPaymentRisk(client, payment.id, scoreRisk(signals, settings));
        if (risk.decision === 'block') {
          await applyTransition(client, {
            tenantId: input.tenantId, paymentId: payment.id, event: 'decline', idempotencyKey: input.idempotencyKey,
            patch: { failureCode: 'risk_blocked' }, eventData: { risk },
          });
        }
        return risk;
      }));
    },

    /** Opens the object's review (a transfer becomes `in_review`, its funds already held). */
    async openRiskReview(input: OpenRiskReviewInput): Promise<{ reviewId: string }> {
      return withTransaction(pool, async (client) => {
        const review = await openReview(client, {
          tenantId: input.tenantId, objectType: input.objectType, objectId: input.objectId, workflowId: input.workflowId,
          score: input.assessment.score, rules: input.assessment.rules, amountMinor: input.amountMinor,
          currency: input.currency, expiresInMs: input.expiresInMs,
        });
        if (input.objectType === 'transfer') await markTransferInReview(client, input.objectId);
        return { reviewId: review.id };
      });
    },

    /** Records the review's decision, once; returns the decision on record (a retry finds its own). */
    async decideRiskReview(input: DecideRiskReviewInput): Promise<{ status: ReviewDecision }> {
      const review = await decideReview(pool, input.reviewId, input.decision, input.decidedBy, input.note);
      return { status: review.status as ReviewDecision };
    },

    /** A payment whose review was declined or expired ends `failed` (`risk_declined`) before any processor call. */
    async declinePaymentForRisk(input: AssessPaymentRiskInput): Promise<void> {
      await asActivityStep(() => withTransaction(pool, (client) => applyTransition(client, {
        tenantId: input.tenantId, paymentId: input.paymentId, event: 'decline', idempotencyKey: input.idempotencyKey,
        patch: { failureCode: 'risk_declined' },
      })));
    },
  };
}

export type RiskActivities = ReturnType<typeof createRiskActivities>;
