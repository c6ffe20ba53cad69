import { DomainError } from '../errors.js';

/**
 * Business outcomes of the payment domain (not bugs): each has the contract's stable `code`, so an
 * activity can turn it into a non-retryable failure and the API into the contract's error.
 */
export const PAYMENT_ERROR_CODES = ['payment_invalid_state', 'amount_too_large', 'payment_missing', 'refund_missing'] as const;
export type PaymentErrorCode = (typeof PAYMENT_ERROR_CODES)[number];

export class PaymentError extends DomainError {
  override name = 'PaymentError';
  constructor(
    readonly code: PaymentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A move the state machine does not allow from the payment's current status. */
export class PaymentStateError extends PaymentError {
  override name = 'PaymentStateError';
  constructor(
    readonly paymentStatus: string,
    readonly event: string,
  ) {
    super('payment_invalid_state', `The payment is ${paymentStatus}: ${event} is not allowed.`);
  }
}

/** A broken payment invariant: a bug in the caller, never something a user did. */
export class PaymentInvariantError extends Error {
  override name = 'PaymentInvariantError';
}
