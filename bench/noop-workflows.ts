/**
 * The workflow bundle of bench/transfers.ts and bench/payments.ts: every real workflow plus
 * `noopTransfer`, a workflow of the same shape as `p2pTransfer` on its success path (two
 * activities, local ones like the real ones since 0.2.0, the same activity options) whose activities do nothing, and `noopPayment`, the same
 * for an automatic-capture card payment of `paymentSaga` (authorize, capture). They are the
 * baselines: Temporal's own cost of a transfer, of a payment.
 */
import {
  ledgerActivity, localLedgerActivity, localProcessorActivity, mustFinishActivity, processorActivity, proxySteps, stepsAreLocal,
} from '../workflows/activity-options.js';
import { localFirstAttempt } from '../workflows/wallet/finish-step.js';
import type { PaymentSagaInput, PaymentSagaResult } from '../workflows/payments/types.js';
import type { P2PTransferInput, P2PTransferResult } from '../workflows/wallet/types.js';
import { setBusinessStatus } from '../workflows/search-attributes.js';

export * from '../workflows/index.js';

/** No-op stand-ins for placeTransferHold and postTransfer (registered on the worker next to the real ones). */
export const noopActivities = {
  async noopPlaceHold(input: { transferId: string }): Promise<{ holdId: string }> {
    return { holdId: `noop-hold-${input.transferId}` };
  },
  async noopPost(input: { transferId: string; holdId: string }): Promise<{ transactionId: string }> {
    return { transactionId: `noop-txn-${input.transferId}` };
  },
};

type NoopActivities = typeof noopActivities;

/**
 * As `p2pTransfer` runs them since 0.2.0: behind the `local-steps` patch, two local activities
 * (the post's first attempt alone, as `finishStep` runs it), one workflow task.
 */
export async function noopTransfer(input: P2PTransferInput): Promise<P2PTransferResult> {
  const local = stepsAreLocal();
  const ledger = proxySteps<NoopActivities>(local, localLedgerActivity, ledgerActivity);
  const mustFinish = proxySteps<NoopActivities>(local, localFirstAttempt, mustFinishActivity);
  const { holdId } = await ledger.noopPlaceHold({ transferId: input.transferId });
  const { transactionId } = await mustFinish.noopPost({ transferId: input.transferId, holdId });
  return { status: 'succeeded', transactionId };
}

/** No-op stand-ins for authorizePayment and capturePayment (the saga's success path, automatic capture). */
export const noopPaymentActivities = {
  async noopAuthorize(_input: { paymentId: string }): Promise<{ outcome: 'authorized' }> {
    return { outcome: 'authorized' };
  },
  async noopCapture(_input: { paymentId: string; amountMinor: number }): Promise<{ outcome: 'captured' }> {
    return { outcome: 'captured' };
  },
};

/**
 * As `paymentSaga` runs them since 0.2.0 (patch `local-steps`): two no-op local activities with
 * the saga's options (`localProcessorActivity`), one workflow task, then it closes.
 */
export async function noopPayment(input: PaymentSagaInput): Promise<PaymentSagaResult> {
  const processor = proxySteps<typeof noopPaymentActivities>(true, localProcessorActivity, processorActivity);
  await processor.noopAuthorize({ paymentId: input.paymentId });
  await processor.noopCapture({ paymentId: input.paymentId, amountMinor: input.amountMinor });
  return { status: 'captured', failureCode: null };
}

/** No-op stand-in for the in-app path of `notification` since 0.2.0: one local step (plan, in-app delivery, completion). */
export const noopNotificationActivities = {
  async noopStartNotification(_input: { notificationId: string }): Promise<{ deferUntil: null; completed: true }> {
    return { deferUntil: null, completed: true };
  },
};

/**
 * An in-app `notification` run with no work in it, in the shape of the real one since 0.2.0: the
 * patch marker, one local step (`localLedgerActivity` options) and one `BusinessStatus` upsert.
 */
export async function noopNotification(input: { notificationId: string }): Promise<{ status: 'completed' }> {
  const steps = proxySteps<typeof noopNotificationActivities>(stepsAreLocal(), localLedgerActivity, ledgerActivity);
  await steps.noopStartNotification(input);
  setBusinessStatus('completed');
  return { status: 'completed' };
}
