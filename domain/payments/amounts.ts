import { PaymentError, PaymentInvariantError } from './errors.js';
import type { PaymentEvent } from './state-machine.js';

/** The amounts of a payment's projection, all in the currency's minor unit. */
export interface PaymentAmounts {
  amountMinor: number;
  amountCapturableMinor: number;
  amountCapturedMinor: number;
  amountRefundedMinor: number;
}

/**
 * The invariants the `payments` CHECK constraints also hold: asserted before every write so a bug
 * shows up here, with a message, rather than as a constraint violation.
 */
export function assertAmounts(a: PaymentAmounts): void {
  const values = [a.amountMinor, a.amountCapturableMinor, a.amountCapturedMinor, a.amountRefundedMinor];
  const ok = values.every((v) => Number.isSafeInteger(v) && v >= 0)
    && a.amountRefundedMinor <= a.amountCapturedMinor
    && a.amountCapturableMinor + a.amountCapturedMinor <= a.amountMinor;
  if (!ok) throw new PaymentInvariantError(`payment amounts out of shape: ${JSON.stringify(a)}`);
}

/** What a move does to the amounts. `amountMinor`: how much to capture (default all) or the refund. */
export function amountsAfter(event: PaymentEvent, current: PaymentAmounts, amountMinor?: number): PaymentAmounts {
  switch (event) {
    case 'authorize':
      return { ...current, amountCapturableMinor: current.amountMinor };
    case 'capture': {
      const captureMinor = amountMinor ?? current.amountCapturableMinor;
      if (!Number.isSafeInteger(captureMinor) || captureMinor < 1) {
        throw new PaymentInvariantError(`capture amount must be a positive integer, got ${captureMinor}`);
      }
      if (captureMinor > current.amountCapturableMinor) {
        throw new PaymentError('amount_too_large', `Cannot capture more than amount_capturable (${current.amountCapturableMinor}).`);
      }
      // A partial capture releases the rest of the authorization.
      return { ...current, amountCapturedMinor: captureMinor, amountCapturableMinor: 0 };
    }
    case 'decline':
    case 'capture_fail':
    case 'void':
    case 'expire':
      return { ...current, amountCapturableMinor: 0 };
    case 'reverse':
    case 'settle':
      return current;
    case 'refund_partial':
    case 'refund_full': {
      if (amountMinor === undefined || !Number.isSafeInteger(amountMinor) || amountMinor < 1) {
        throw new PaymentInvariantError(`refund amount must be a positive integer, got ${amountMinor}`);
      }
      const refundedMinor = current.amountRefundedMinor + amountMinor;
      // reserveRefund guards this under the row lock; getting here over the limit is a bug.
      if (refundedMinor > current.amountCapturedMinor) {
        throw new PaymentInvariantError(`refunds ${refundedMinor} would exceed the captured ${current.amountCapturedMinor}`);
      }
      return { ...current, amountRefundedMinor: refundedMinor };
    }
    default: {
      const unreachable: never = event;
      throw new PaymentInvariantError(`unknown payment event ${String(unreachable)}`);
    }
  }
}

/** A successful refund of `refundMinor`: full once everything captured has been refunded. */
export function refundEventFor(current: PaymentAmounts, refundMinor: number): 'refund_partial' | 'refund_full' {
  return current.amountRefundedMinor + refundMinor === current.amountCapturedMinor ? 'refund_full' : 'refund_partial';
}

/** What may still be refunded, given refunds that are reserved but not finished yet. */
export function refundableMinor(current: PaymentAmounts, pendingRefundsMinor: number): number {
  return current.amountCapturedMinor - current.amountRefundedMinor - pendingRefundsMinor;
}
