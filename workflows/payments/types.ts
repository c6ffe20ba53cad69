import { defineUpdate } from '@temporalio/workflow';
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
}
export interface RefundArgs {
  refundId: string;
  amountMinor?: number;
}

/** Updates answer once the step is done; the API then reads the payment from PostgreSQL. */
export const captureUpdate = defineUpdate<void, [CaptureArgs]>('capture');
export const cancelUpdate = defineUpdate<void, [CancelArgs]>('cancel');
export const refundUpdate = defineUpdate<void, [RefundArgs]>('refund');
