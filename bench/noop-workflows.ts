/**
 * The workflow bundle of bench/transfers.ts and bench/payments.ts: every real workflow plus
 * `noopTransfer`, a workflow of the same shape as `p2pTransfer` on its success path (two
 * activities, the same activity options) whose activities do nothing, and `noopPayment`, the same
 * for an automatic-capture card payment of `paymentSaga` (authorize, capture). They are the
 * baselines: Temporal's own cost of a transfer, of a payment.
 */
import { proxyActivities } from '@temporalio/workflow';
import { ledgerActivity, mustFinishActivity, processorActivity } from '../workflows/activity-options.js';
import type { PaymentSagaInput, PaymentSagaResult } from '../workflows/payments/types.js';
import type { P2PTransferInput, P2PTransferResult } from '../workflows/wallet/types.js';

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

const ledger = proxyActivities<NoopActivities>(ledgerActivity);
const mustFinish = proxyActivities<NoopActivities>(mustFinishActivity);

export async function noopTransfer(input: P2PTransferInput): Promise<P2PTransferResult> {
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

const processor = proxyActivities<typeof noopPaymentActivities>(processorActivity);

/** Two no-op activities with the options of the saga's (`processorActivity`), then it closes. */
export async function noopPayment(input: PaymentSagaInput): Promise<PaymentSagaResult> {
  await processor.noopAuthorize({ paymentId: input.paymentId });
  await processor.noopCapture({ paymentId: input.paymentId, amountMinor: input.amountMinor });
  return { status: 'captured', failureCode: null };
}

/** No-op stand-ins for the in-app path of `notification`: plan, one delivery attempt, status. */
export const noopNotificationActivities = {
  async noopPlanNotification(_input: { notificationId: string }): Promise<{ deferUntil: null }> {
    return { deferUntil: null };
  },
  async noopAttemptDelivery(_input: { notificationId: string }): Promise<{ status: 'sent' }> {
    return { status: 'sent' };
  },
  async noopSetNotificationStatus(_input: { notificationId: string }): Promise<void> {},
};

/**
 * The activities of an in-app `notification` run with no work in them: two control steps on the
 * workflow's queue (`ledgerActivity` options) and one attempt on the delivery queue, like the real one.
 */
export async function noopNotification(input: { notificationId: string; deliveryQueue: string }): Promise<{ status: 'completed' }> {
  const control = proxyActivities<typeof noopNotificationActivities>(ledgerActivity);
  const channel = proxyActivities<typeof noopNotificationActivities>({ ...ledgerActivity, startToCloseTimeout: '2m', taskQueue: input.deliveryQueue });
  await control.noopPlanNotification(input);
  await channel.noopAttemptDelivery(input);
  await control.noopSetNotificationStatus(input);
  return { status: 'completed' };
}
