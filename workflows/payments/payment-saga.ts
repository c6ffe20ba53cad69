import {
  allHandlersFinished, ApplicationFailure, CancellationScope, condition, isCancellation, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../../activities/payments/payment-activities.js';
import { canCancel, canCapture, canRefund, isFinal, type PaymentStatus } from '../../domain/payments/state-machine.js';
import {
  localMustFinishActivity, localProcessorActivity, mustFinishActivity, processorActivity, proxySteps, stepsAreLocal,
} from '../activity-options.js';
import { REVIEW_TIMEOUT_DEFAULT_MS, reviewDesk, riskMustFinish, riskScored, riskSteps } from '../risk/review.js';
import { Compensations } from '../saga.js';
import { setBusinessStatus } from '../search-attributes.js';
import {
  cancelUpdate, captureUpdate, isAnswered, refundUpdate, untilAnsweredUpdate,
  type CaptureArgs, type PaymentSagaInput, type PaymentSagaResult, type RefundArgs,
} from './types.js';

const reject = (type: 'payment_invalid_state' | 'amount_too_large', message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/**
 * The payment saga: authorize (a card or bank through the processor router, or a wallet hold),
 * then capture (at once, or on the `capture` Update before AUTHORIZATION_TTL), then serve
 * `refund` and `cancel` Updates until the payment is final or the refund window closes. The void
 * of the authorization is the compensation of every failure after it. Updates are validated
 * against the saga's own state first, so an illegal request is refused before it is recorded.
 * The `untilAnswered` Update (the API's Update-with-Start) returns once the payment can be answered.
 *
 * Since release 0.2.0 (patch `local-steps`) the steps are local activities: an automatic-capture
 * card payment authorizes and captures in the workflow task that starts it. Runs started before
 * keep their regular activities (and their BusinessStatus upserts) on replay.
 *
 * Since 0.3.0 (patch `risk-scoring`, contract §8) the payment is scored before its authorization:
 * `block` ends it `failed` (`risk_blocked`) with no processor called; `review` keeps it `initiated`
 * (BusinessStatus `in_review`) until a person approves it (then it authorizes) or declines it, or
 * RISK_REVIEW_TIMEOUT expires it (`failed`, `risk_declined`).
 */
export async function paymentSaga(input: PaymentSagaInput): Promise<PaymentSagaResult> {
  const local = stepsAreLocal();
  const processor = proxySteps<PaymentActivities>(local, localProcessorActivity, processorActivity);
  const mustFinish = proxySteps<PaymentActivities>(local, localMustFinishActivity, mustFinishActivity);
  const key = (step: string) => `${workflowInfo().workflowId}:${step}`;
  const compensations = new Compensations();
  let status: PaymentStatus = 'initiated';
  let failureCode: string | null = null;
  let capturableMinor = 0;
  let capturedMinor = 0;
  let refundedOrPendingMinor = 0;
  let busy = false; // one step (authorize, capture, cancel) at a time
  // Update handlers do not run in the main scope: an ops cancel reaches their step through this.
  let stepScope: CancellationScope | null = null;
  let refunds = 0;
  /** The Idempotency-Key of the cancel request being served, recorded on the event it writes. */
  let cancelRequestKey: string | undefined;
  /** The run is ending (ops cancel, a failure): `untilAnswered` stops waiting for an answered status. */
  let closing = false;
  let answerWaiters = 0;
  /** Waiting for a person's review before the authorization: answered (201) with status `initiated`. */
  let inReview = false;
  const scored = riskScored();
  const desk = scored ? reviewDesk() : null;
  /** The BusinessStatus last upserted (the start sets `pending`). */
  let shown: string = 'pending';
  /**
   * In a local run, an automatic capture follows the authorization in the same workflow task:
   * ops see the capture's outcome only (one upsert, one visibility write, instead of two).
   */
  const supersededSoon = (next: PaymentStatus) => local && next === 'authorized' && input.captureMethod === 'automatic';
  /** Moves the saga to `next` and shows it as BusinessStatus (unless superseded in this task). */
  const set = (next: PaymentStatus) => {
    status = next;
    if (supersededSoon(next)) return;
    show();
  };
  const show = () => {
    shown = status;
    setBusinessStatus(status);
  };
  /** A run ending between a superseded status and the next one shows where it stopped. */
  const showUnshown = () => {
    if (shown !== status) show();
  };
  /** Whoever waits for an answer reads the row now, before the run ends. */
  const releaseAnswerWaiters = async () => {
    closing = true;
    await condition(() => answerWaiters === 0);
  };

  async function capture(args: CaptureArgs): Promise<void> {
    const amountMinor = args.amountMinor ?? capturableMinor;
    const result = await processor.capturePayment({ tenantId: input.tenantId, paymentId: input.paymentId, amountMinor, idempotencyKey: key('capture') });
    if (result.outcome === 'captured') {
      capturedMinor = amountMinor;
      capturableMinor = 0;
      set('captured');
      return;
    }
    // The capture failed for good: void the authorization (the saga's compensation), `reversed`.
    failureCode = result.failureCode;
    await compensations.compensate();
    set('reversed');
  }

  async function cancel(): Promise<void> {
    if (status === 'authorized') {
      await compensations.compensate();
      set('reversed');
      return;
    }
    await mustFinish.reversePayment({
      tenantId: input.tenantId, paymentId: input.paymentId, idempotencyKey: key('reverse'),
      // Only the step's input changes (no command is added or moved): older histories replay as they are.
      ...(cancelRequestKey === undefined ? {} : { requestKey: cancelRequestKey }),
    });
    set('reversed');
  }

  /**
   * Capture and cancel run one at a time, after any step in flight: the API may see a step's
   * database write before the saga has seen its activity complete. Validators refuse only what
   * no step in flight can change (a final payment); the rest is checked once it is this one's turn.
   */
  async function exclusive(check: () => void, run: () => Promise<void>): Promise<void> {
    // Re-check after every wake-up, with no await between the check and taking the turn: handlers
    // woken together run one after another, and an earlier one may have taken it already.
    while (busy) await condition(() => !busy);
    check();
    busy = true;
    const scope = new CancellationScope();
    stepScope = scope;
    try {
      await scope.run(run);
    } finally {
      busy = false;
      stepScope = null;
    }
  }
  const refuseFinal = (..._args: unknown[]) => {
    if (isFinal(status)) throw reject('payment_invalid_state', `A ${status} payment cannot be changed.`);
  };

  setHandler(captureUpdate, (args) => exclusive(() => {
    if (!canCapture(status)) throw reject('payment_invalid_state', `A ${status} payment cannot be captured.`);
    if (args.amountMinor !== undefined && args.amountMinor > capturableMinor) {
      throw reject('amount_too_large', `At most ${capturableMinor} can be captured.`);
    }
  }, () => capture(args)), { validator: refuseFinal });

  setHandler(cancelUpdate, async (args) => {
    while (refunds > 0 || busy) await condition(() => refunds === 0 && !busy);
    await exclusive(() => {
      if (!canCancel(status)) throw reject('payment_invalid_state', `A ${status} payment cannot be canceled.`);
    }, async () => {
      cancelRequestKey = args?.requestKey;
      try {
        await cancel();
      } finally {
        cancelRequestKey = undefined;
      }
    });
  }, { validator: refuseFinal });

  setHandler(untilAnsweredUpdate, async () => {
    answerWaiters++;
    try {
      await condition(() => closing || inReview || isAnswered(status, input.captureMethod));
    } finally {
      answerWaiters--;
    }
    return { status };
  });

  setHandler(refundUpdate, async (args: RefundArgs) => {
    while (busy) await condition(() => !busy);
    if (!canRefund(status)) throw reject('payment_invalid_state', `A ${status} payment cannot be refunded.`);
    const leftMinor = capturedMinor - refundedOrPendingMinor;
    const amountMinor = args.amountMinor ?? leftMinor;
    if (leftMinor < 1 || amountMinor > leftMinor) throw reject('amount_too_large', `At most ${Math.max(leftMinor, 0)} can be refunded.`);
    refundedOrPendingMinor += amountMinor;
    refunds++;
    try {
      const result = await mustFinish.refundPayment({
        tenantId: input.tenantId, paymentId: input.paymentId, refundId: args.refundId, amountMinor, idempotencyKey: key(`refund:${args.refundId}`),
        // Only the step's input changes (no command is added or moved): older histories replay as they are.
        ...(args.requestKey === undefined ? {} : { requestKey: args.requestKey }),
      });
      if (result.status !== 'succeeded') refundedOrPendingMinor -= amountMinor;
      else if (result.paymentStatus === 'refunded') set('refunded');
    } finally {
      refunds--;
    }
  }, { validator: refuseFinal });

  try {
    if (desk) {
      const risk = await riskSteps.assessPaymentRisk({ tenantId: input.tenantId, paymentId: input.paymentId, idempotencyKey: key('risk') });
      if (risk.decision !== 'review') desk.close();
      if (risk.decision === 'block') {
        set('failed');
        return { status, failureCode: 'risk_blocked' };
      }
      if (risk.decision === 'review') {
        const decision = await desk.review({
          tenantId: input.tenantId, objectType: 'payment', objectId: input.paymentId, amountMinor: input.amountMinor,
          currency: input.currency, reviewTimeoutMs: input.reviewTimeoutMs ?? REVIEW_TIMEOUT_DEFAULT_MS,
        }, risk, () => { inReview = true; });
        inReview = false;
        if (decision !== 'approved') {
          await riskMustFinish.declinePaymentForRisk({ tenantId: input.tenantId, paymentId: input.paymentId, idempotencyKey: key('review') });
          set('failed');
          return { status, failureCode: 'risk_declined' };
        }
        show(); // back from in_review: `initiated` while it authorizes
      }
    }
    busy = true; // Updates that arrive while authorizing wait for its outcome
    let authorization;
    try {
      authorization = await processor.authorizePayment({
        tenantId: input.tenantId, paymentId: input.paymentId, idempotencyKey: key('authorize'),
      });
    } finally {
      busy = false;
    }
    if (authorization.outcome === 'declined') {
      set('failed');
      return { status, failureCode: authorization.failureCode };
    }
    compensations.add('void-authorization', () =>
      mustFinish.releaseAuthorization({
        tenantId: input.tenantId, paymentId: input.paymentId, idempotencyKey: key('void'),
        event: failureCode === null || failureCode === 'canceled' ? 'void' : failureCode === 'authorization_expired' ? 'expire' : 'capture_fail',
        failureCode,
        ...(cancelRequestKey === undefined ? {} : { requestKey: cancelRequestKey }),
      }));
    capturableMinor = input.amountMinor;
    set('authorized');

    if (input.captureMethod === 'automatic') {
      busy = true;
      try {
        await capture({});
      } finally {
        busy = false;
      }
    } else if (!(await condition(() => status !== 'authorized' && !busy, input.authorizationTtlMs))) {
      await condition(() => !busy);
      if ((status as PaymentStatus) === 'authorized') {
        failureCode = 'authorization_expired';
        busy = true;
        try {
          await compensations.compensate();
          set('reversed');
        } finally {
          busy = false;
        }
      }
    }
    await condition(() => !busy && refunds === 0 && isFinal(status), input.refundWindowMs);
    await condition(allHandlersFinished);
  } catch (err) {
    if (!isCancellation(err)) {
      showUnshown();
      await releaseAnswerWaiters();
      throw err;
    }
    // Ops cancel: stop the step in flight, then undo what was done, shielded from the cancellation.
    (stepScope as CancellationScope | null)?.cancel();
    await CancellationScope.nonCancellable(async () => {
      await condition(() => !busy);
      const now = status as PaymentStatus;
      if (now === 'initiated') {
        await mustFinish.abandonAuthorization({ tenantId: input.tenantId, paymentId: input.paymentId, idempotencyKey: key('authorize') });
      } else if (now === 'authorized' || now === 'captured') {
        failureCode = 'canceled';
        await cancel();
      }
      await releaseAnswerWaiters(); // after the compensation: the row they read says what it did
    });
    setBusinessStatus('canceled');
    throw err;
  }
  return { status, failureCode };
}
