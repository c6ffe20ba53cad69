import { describe, expect, it } from 'vitest';
import { PaymentStateError } from './errors.js';
import {
  canCancel, canCapture, canRefund, cancelEventFor, EVENT_TYPES, isFinal, nextStatus, PAYMENT_EVENTS, PAYMENT_STATUSES,
  type PaymentEvent, type PaymentStatus,
} from './state-machine.js';

/**
 * The expected machine, written out again independently of TRANSITIONS: one row per status, one
 * column per event ('-' = payment_invalid_state). Every (status, event) pair is checked.
 */
const COLUMNS: PaymentEvent[] = ['authorize', 'decline', 'capture', 'capture_fail', 'void', 'reverse', 'expire', 'refund_partial', 'refund_full', 'settle'];
const EXPECTED: Record<PaymentStatus, (PaymentStatus | '-')[]> = {
  //          authorize     decline   capture     capture_fail void        reverse     expire      refund_partial refund_full settle
  initiated: ['authorized', 'failed', '-',        '-',         '-',        '-',        '-',        '-',           '-',        '-'],
  authorized: ['-',         '-',      'captured', 'reversed',  'reversed', '-',        'reversed', '-',           '-',        '-'],
  captured: ['-',           '-',      '-',        '-',         '-',        'reversed', '-',        'captured',    'refunded', 'settled'],
  settled: ['-',            '-',      '-',        '-',         '-',        '-',        '-',        'settled',     'refunded', '-'],
  failed: ['-',             '-',      '-',        '-',         '-',        '-',        '-',        '-',           '-',        '-'],
  reversed: ['-',           '-',      '-',        '-',         '-',        '-',        '-',        '-',           '-',        '-'],
  refunded: ['-',           '-',      '-',        '-',         '-',        '-',        '-',        '-',           '-',        '-'],
};

const pairs = PAYMENT_STATUSES.flatMap((status) =>
  COLUMNS.map((event, i) => ({ status, event, expected: EXPECTED[status][i]! })));

describe('payment state machine', () => {
  it('the table above covers every status and every event', () => {
    expect([...COLUMNS].sort()).toEqual([...PAYMENT_EVENTS].sort());
    expect(Object.keys(EXPECTED).sort()).toEqual([...PAYMENT_STATUSES].sort());
    expect(pairs).toHaveLength(PAYMENT_STATUSES.length * PAYMENT_EVENTS.length);
  });

  it.each(pairs.filter((p) => p.expected !== '-'))('$status --$event--> $expected', ({ status, event, expected }) => {
    expect(nextStatus(status, event)).toBe(expected);
  });

  it.each(pairs.filter((p) => p.expected === '-'))('$status --$event--> payment_invalid_state', ({ status, event }) => {
    let thrown: unknown;
    try {
      nextStatus(status, event);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PaymentStateError);
    expect(thrown).toMatchObject({ code: 'payment_invalid_state', paymentStatus: status, event });
  });

  it('partial refunds keep the status; failed, reversed and refunded are final', () => {
    for (const status of PAYMENT_STATUSES) {
      if (canRefund(status)) expect(nextStatus(status, 'refund_partial')).toBe(status);
    }
    expect(PAYMENT_STATUSES.filter(isFinal)).toEqual(['failed', 'reversed', 'refunded']);
  });

  it.each(PAYMENT_STATUSES)('helpers agree with the table for %s', (status) => {
    const legal = (event: PaymentEvent) => EXPECTED[status][COLUMNS.indexOf(event)] !== '-';
    expect(canCapture(status)).toBe(legal('capture'));
    expect(canRefund(status)).toBe(legal('refund_partial') && legal('refund_full'));
    expect(canCancel(status)).toBe(legal('void') || legal('reverse'));
    if (canCancel(status)) {
      // A cancel always ends reversed: a void of an authorization or a reversal of a capture.
      expect(nextStatus(status, cancelEventFor(status))).toBe('reversed');
    } else {
      expect(() => cancelEventFor(status)).toThrow(PaymentStateError);
    }
  });

  it('cancel: authorized voids, captured-but-unsettled reverses, anything else is payment_invalid_state', () => {
    expect(cancelEventFor('authorized')).toBe('void');
    expect(cancelEventFor('captured')).toBe('reverse');
    expect(() => cancelEventFor('settled')).toThrow(expect.objectContaining({ code: 'payment_invalid_state' }));
  });

  it('each event is logged as payment.<new status>, except a partial refund', () => {
    for (const { event, expected } of pairs) {
      if (expected === '-') continue;
      const type = EVENT_TYPES[event];
      if (event === 'refund_partial') expect(type).toBe('payment.partially_refunded');
      else expect(type).toBe(`payment.${expected}`);
    }
  });
});
