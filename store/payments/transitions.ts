import type pg from 'pg';
import { PaymentError, PaymentInvariantError } from '../../domain/payments/errors.js';
import { EVENT_TYPES, type PaymentEvent } from '../../domain/payments/state-machine.js';
import type { Payment } from '../../domain/payments/types.js';
import { eventTypeByKey, lockPayment, writeTransition, type PaymentPatch } from './payments.js';
import { hasPendingRefund } from './refunds.js';

/**
 * The saga's moves of a payment: one state-machine event under the payment's row lock, replayed
 * keys recognised. No SQL of its own: the statements are the payment aggregate's (payments.ts)
 * and the refunds' (refunds.ts).
 */

/** Refund and settlement moves also change amounts or batches: they go through refunds.ts and settlement-batches.ts. */
export type DirectPaymentEvent = Exclude<PaymentEvent, 'refund_partial' | 'refund_full' | 'settle'>;

export interface TransitionInput {
  tenantId: string;
  paymentId: string;
  event: DirectPaymentEvent;
  /** One per step (e.g. `payment-pay_…:authorize`): a retried step finds its event and writes nothing. */
  idempotencyKey: string;
  /** `capture` only: at most amount_capturable; default all of it (a partial capture releases the rest). */
  captureAmountMinor?: number;
  patch?: PaymentPatch;
  eventData?: Record<string, unknown>;
}

/**
 * Applies one state-machine event under the payment's row lock: the projection and its event in
 * the caller's transaction. An illegal move throws `payment_invalid_state` and writes nothing; a
 * replayed key returns the current payment with `replayed: true` and no second event.
 */
export async function applyTransition(
  client: pg.PoolClient,
  input: TransitionInput,
): Promise<{ payment: Payment; replayed: boolean }> {
  const current = await lockPayment(client, input.tenantId, input.paymentId);
  const replayedType = await eventTypeByKey(client, current.id, input.idempotencyKey);
  if (replayedType !== null) {
    if (replayedType !== EVENT_TYPES[input.event]) {
      throw new PaymentInvariantError(`key ${input.idempotencyKey} of payment ${current.id} was used for ${replayedType}`);
    }
    return { payment: current, replayed: true };
  }
  if (input.event === 'reverse') await refuseWhileRefunding(client, current.id);
  const payment = await writeTransition(client, current, {
    event: input.event,
    idempotencyKey: input.idempotencyKey,
    ...(input.event === 'capture' && input.captureAmountMinor !== undefined ? { amountMinor: input.captureAmountMinor } : {}),
    ...(input.patch ? { patch: input.patch } : {}),
    ...(input.eventData ? { eventData: input.eventData } : {}),
  });
  return { payment, replayed: false };
}

/**
 * A reversal gives the merchant's captured funds back; a refund in flight debits them too. Both
 * at once could return more than was captured, so a reversal waits for pending refunds to finish.
 */
async function refuseWhileRefunding(client: pg.PoolClient, paymentId: string): Promise<void> {
  if (await hasPendingRefund(client, paymentId)) {
    throw new PaymentError('payment_invalid_state', 'The payment has a refund in progress: cancel it once the refund has finished.');
  }
}
