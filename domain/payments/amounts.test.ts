import { describe, expect, it } from 'vitest';
import { amountsAfter, assertAmounts, refundableMinor, refundEventFor, type PaymentAmounts } from './amounts.js';
import { PaymentError, PaymentInvariantError } from './errors.js';

const initiated: PaymentAmounts = { amountMinor: 1_000, amountCapturableMinor: 0, amountCapturedMinor: 0, amountRefundedMinor: 0 };
const authorized = amountsAfter('authorize', initiated);
const captured = amountsAfter('capture', authorized);

describe('payment amounts', () => {
  it('authorizing makes the whole amount capturable; capturing takes it all by default', () => {
    expect(authorized.amountCapturableMinor).toBe(1_000);
    expect(captured).toMatchObject({ amountCapturableMinor: 0, amountCapturedMinor: 1_000 });
  });

  it('a partial capture releases the rest; more than capturable is amount_too_large', () => {
    expect(amountsAfter('capture', authorized, 400)).toMatchObject({ amountCapturableMinor: 0, amountCapturedMinor: 400 });
    expect(() => amountsAfter('capture', authorized, 1_001)).toThrow(expect.objectContaining({ code: 'amount_too_large' }));
    expect(() => amountsAfter('capture', authorized, 1_001)).toThrow(PaymentError);
    expect(() => amountsAfter('capture', authorized, 0)).toThrow(PaymentInvariantError);
  });

  it.each(['decline', 'capture_fail', 'void', 'expire'] as const)('%s releases the authorization', (event) => {
    expect(amountsAfter(event, authorized).amountCapturableMinor).toBe(0);
  });

  it('refunds raise amount_refunded up to the captured amount and no further', () => {
    const partly = amountsAfter('refund_partial', captured, 300);
    expect(partly.amountRefundedMinor).toBe(300);
    expect(refundEventFor(partly, 600)).toBe('refund_partial');
    expect(refundEventFor(partly, 700)).toBe('refund_full');
    expect(refundableMinor(partly, 200)).toBe(500);
    expect(() => amountsAfter('refund_full', partly, 701)).toThrow(PaymentInvariantError);
  });

  it('asserts the projection invariants', () => {
    expect(() => assertAmounts(captured)).not.toThrow();
    expect(() => assertAmounts({ ...captured, amountRefundedMinor: 1_001 })).toThrow(PaymentInvariantError);
    expect(() => assertAmounts({ ...authorized, amountCapturedMinor: 1 })).toThrow(PaymentInvariantError);
    expect(() => assertAmounts({ ...captured, amountCapturedMinor: 0.5 })).toThrow(PaymentInvariantError);
  });
});
