import { PaymentStateError } from './errors.js';

/**
 * The payment state machine: pure, no I/O, so workflows, activities and the API share it.
 * `captured` and `settled` keep their status on a partial refund; `refunded` is reached once
 * amount_refunded == amount_captured (the caller picks `refund_partial` or `refund_full`, see
 * `refundEventFor` in amounts.ts).
 */

export const PAYMENT_STATUSES = ['initiated', 'authorized', 'captured', 'settled', 'failed', 'reversed', 'refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const PAYMENT_EVENTS = [
  'authorize', // the processor approved (or the wallet hold was placed)
  'decline', // the processor declined or failed for good before authorizing
  'capture', // funds captured (in full or in part; the rest is released)
  'capture_fail', // capture failed for good and the saga voided the authorization
  'void', // cancel of an authorization
  'reverse', // cancel of a capture that is not settled yet
  'expire', // a manual-capture authorization outlived AUTHORIZATION_TTL and was voided
  'refund_partial', // a refund succeeded and some captured amount is left
  'refund_full', // a refund succeeded and brought amount_refunded to amount_captured
  'settle', // the settlement run moved the payment into a batch
] as const;
export type PaymentEvent = (typeof PAYMENT_EVENTS)[number];

type TransitionTable = Record<PaymentStatus, Partial<Record<PaymentEvent, PaymentStatus>>>;

/** Every legal move; anything not listed is `payment_invalid_state`. */
export const TRANSITIONS = {
  initiated: { authorize: 'authorized', decline: 'failed' },
  authorized: { capture: 'captured', capture_fail: 'reversed', void: 'reversed', expire: 'reversed' },
  captured: { reverse: 'reversed', refund_partial: 'captured', refund_full: 'refunded', settle: 'settled' },
  settled: { refund_partial: 'settled', refund_full: 'refunded' },
  failed: {},
  reversed: {},
  refunded: {},
} as const satisfies TransitionTable;

/** The event log's type for each move: `payment.<new status>`, except a partial refund. */
export const EVENT_TYPES = {
  authorize: 'payment.authorized',
  decline: 'payment.failed',
  capture: 'payment.captured',
  capture_fail: 'payment.reversed',
  void: 'payment.reversed',
  reverse: 'payment.reversed',
  expire: 'payment.reversed',
  refund_partial: 'payment.partially_refunded',
  refund_full: 'payment.refunded',
  settle: 'payment.settled',
} as const satisfies Record<PaymentEvent, `payment.${string}`>;

export type PaymentEventType = 'payment.initiated' | (typeof EVENT_TYPES)[PaymentEvent];

/** The status after `event`, or a `PaymentStateError` (code `payment_invalid_state`). */
export function nextStatus(status: PaymentStatus, event: PaymentEvent): PaymentStatus {
  const next = (TRANSITIONS as TransitionTable)[status][event];
  if (next === undefined) throw new PaymentStateError(status, event);
  return next;
}

export function isLegal(status: PaymentStatus, event: PaymentEvent): boolean {
  return (TRANSITIONS as TransitionTable)[status][event] !== undefined;
}

export function canCapture(status: PaymentStatus): boolean {
  return isLegal(status, 'capture');
}

/** Cancel is a void of an authorization or a reversal of an unsettled capture. */
export function canCancel(status: PaymentStatus): boolean {
  return isLegal(status, 'void') || isLegal(status, 'reverse');
}

/** A refund may start from these statuses; whether any amount is left is the amounts' question. */
export function canRefund(status: PaymentStatus): boolean {
  return isLegal(status, 'refund_partial');
}

/** The event a cancel request means in `status`: `void` or `reverse`, else payment_invalid_state. */
export function cancelEventFor(status: PaymentStatus): 'void' | 'reverse' {
  switch (status) {
    case 'authorized':
      return 'void';
    case 'captured':
      return 'reverse';
    case 'initiated':
    case 'settled':
    case 'failed':
    case 'reversed':
    case 'refunded':
      throw new PaymentStateError(status, 'cancel');
    default: {
      const unreachable: never = status;
      throw new PaymentStateError(String(unreachable), 'cancel');
    }
  }
}

/** Statuses with no way out: the saga is done with them. */
export function isFinal(status: PaymentStatus): boolean {
  return Object.keys(TRANSITIONS[status]).length === 0;
}
