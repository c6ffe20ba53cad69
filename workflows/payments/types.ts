import { defineUpdate } from '@temporalio/workflow';
import { isFinal, type PaymentStatus } from '../../domain/payments/state-machine.js';
import type { CaptureMethod } from '../../domain/payments/types.js';

/** Inputs, results and Updates of the payment saga: shared by the API and the workflow. */

export type SagaPaymentMethod = { type: 'card' | 'bank_transfer'; token: string } | { type: 'wallet'; accountId: string };

export interface PaymentSagaInput {
  tenantId: string;
  paymentId: string;
  amountMinor: number;
  currency: string;
  merchantAccountId: string;
  paymentMethod: SagaPaymentMethod;
  captureMethod: CaptureMethod;
  /** A manual-capture authorization is voided after this (AUTHORIZATION_TTL). */
  authorizationTtlMs: number;
  /** After capture the run stays open this long for refunds and cancels (REFUND_WINDOW). */
  refundWindowMs: number;
  /** A payment the risk score sent to review is declined (`expired`) after this (RISK_REVIEW_TIMEOUT; since 0.3.0). */
  reviewTimeoutMs?: number;
}

export interface PaymentSagaResult {
  status: string;
  failureCode: string | null;
}

export interface CaptureArgs {
  amountMinor?: number;
}
export interface CancelArgs {
  reason?: string;
  /**
   * The client's Idempotency-Key (absent before; absent without a key): written on the
   * `payment.reversed` event the cancel causes, so a retry that finds the run closed can tell
   * whether its first attempt did it (a local step may have acted in a workflow task that was lost).
   */
  requestKey?: string;
}
export interface RefundArgs {
  refundId: string;
  amountMinor?: number;
  /**
   * The client's Idempotency-Key (issue #15; absent before): stored with the refund, so a retry
   * of the request finds the refund its first attempt created.
   */
  requestKey?: string;
}

/**
 * Updates answer once the step is done; the API then reads the payment from PostgreSQL. A
 * request with an Idempotency-Key sends its Update with an id derived from the key
 * (api/workflow-updates.ts `updateIdOf`): the server runs one Update per id and answers a repeat
 * with the first outcome, also once the run has closed.
 */
export const captureUpdate = defineUpdate<void, [CaptureArgs]>('capture');
export const cancelUpdate = defineUpdate<void, [CancelArgs]>('cancel');
export const refundUpdate = defineUpdate<void, [RefundArgs]>('refund');

/**
 * Settled enough for `POST /v1/payments` to answer 201: final, captured, or an authorization
 * waiting for its manual capture. The saga's `untilAnswered` Update and the API's fallback read
 * of the row agree on it.
 */
export function isAnswered(status: PaymentStatus, captureMethod: CaptureMethod): boolean {
  return isFinal(status) || status === 'captured' || (captureMethod === 'manual' && status === 'authorized');
}

/**
 * Returns once the saga has reached an answered status (`isAnswered`), or once the run is being
 * cancelled by ops; at once if it is there already. The API starts the saga with it
 * (Update-with-Start) instead of polling the row, then reads the row once. It changes nothing,
 * so it has nothing to refuse (no validator): a repeat with the same Update id gets the first answer.
 */
export const untilAnsweredUpdate = defineUpdate<{ status: PaymentStatus }, []>('untilAnswered');
/** One Update id per run: the retries of one creation (same Idempotency-Key) share the one Update. */
export const UNTIL_ANSWERED_UPDATE_ID = 'created';
