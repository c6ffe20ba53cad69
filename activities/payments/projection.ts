import type pg from 'pg';
import { amountsAfter, assertAmounts } from '../../domain/payments/amounts.js';
import { PaymentError, PaymentInvariantError } from '../../domain/payments/errors.js';
import { EVENT_TYPES, nextStatus, type PaymentEvent, type PaymentEventType } from '../../domain/payments/state-machine.js';
import type { Payment, PaymentMethodType } from '../../domain/payments/types.js';
import { newId } from '../../domain/ids.js';
import type { EventType } from '../../domain/notifications/types.js';
import { prepared, toSafeInt } from '../../platform/db.js';

/**
 * The `payments` projection: its row mapping, its row lock, and the one write that moves it —
 * status, amounts and the matching event together — so no code path can change a payment
 * without the state machine's consent and an event in the log.
 */

/** Payment events that merchants' webhooks receive (in the outbox with the change, same event id). */
const OUTBOX_TOPICS: Partial<Record<PaymentEventType, EventType>> = {
  'payment.captured': 'payment.captured',
  'payment.partially_refunded': 'payment.refunded',
  'payment.refunded': 'payment.refunded',
  'payment.failed': 'payment.failed',
};

export const PAYMENT_COLUMNS = `id, tenant_id, merchant_account_id, amount, currency, status, amount_capturable,
  amount_captured, amount_refunded, capture_method, payment_method_type, payment_method_brand, payment_method_last4,
  payment_method_token, wallet_account_id, processor, processor_reference, hold_id, failure_code, decline_code,
  description, metadata, version, settled_batch_id, created_at, updated_at`;

export function toPayment(row: Record<string, unknown>): Payment {
  const text = (v: unknown) => (v as string | null) ?? null;
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    merchantAccountId: row.merchant_account_id as string,
    amountMinor: toSafeInt(row.amount as string),
    currency: row.currency as string,
    status: row.status as Payment['status'],
    amountCapturableMinor: toSafeInt(row.amount_capturable as string),
    amountCapturedMinor: toSafeInt(row.amount_captured as string),
    amountRefundedMinor: toSafeInt(row.amount_refunded as string),
    captureMethod: row.capture_method as Payment['captureMethod'],
    paymentMethod: {
      type: row.payment_method_type as PaymentMethodType,
      brand: text(row.payment_method_brand),
      last4: text(row.payment_method_last4),
      token: text(row.payment_method_token),
      walletAccountId: text(row.wallet_account_id),
    },
    processor: text(row.processor),
    processorReference: text(row.processor_reference),
    holdId: text(row.hold_id),
    failureCode: text(row.failure_code),
    declineCode: text(row.decline_code),
    description: text(row.description),
    metadata: (row.metadata as Record<string, string>) ?? {},
    version: row.version as number,
    settledBatchId: text(row.settled_batch_id),
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

/**
 * Locks one tenant's payment row. Every writer of a payment (transitions, refunds, settlement)
 * takes this lock first, so statements issued after it see what earlier writers committed.
 * `FOR NO KEY UPDATE`: inserts of events and refunds (foreign keys to this row) are not blocked.
 */
export async function lockPayment(client: pg.PoolClient, tenantId: string, paymentId: string): Promise<Payment> {
  const { rows } = await client.query(
    prepared('payments-lock', `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE`),
    [paymentId, tenantId],
  );
  if (!rows[0]) throw new PaymentError('payment_missing', `No such payment: ${paymentId}`);
  return toPayment(rows[0]);
}

/**
 * The type of the event already written with `idempotencyKey`, if any. A separate statement from
 * the lock on purpose: under READ COMMITTED it takes a fresh snapshot, so it sees an event
 * committed by the writer this transaction waited for.
 */
export async function eventTypeByKey(client: pg.PoolClient, paymentId: string, idempotencyKey: string): Promise<string | null> {
  const { rows } = await client.query(
    prepared('payments-event-by-key', 'SELECT type FROM payment_events WHERE payment_id = $1 AND idempotency_key = $2'),
    [paymentId, idempotencyKey],
  );
  return (rows[0]?.type as string | undefined) ?? null;
}

/** Processor facts a transition may record; an absent field leaves its column as it is. */
export interface PaymentPatch {
  processor?: string;
  processorReference?: string;
  holdId?: string;
  failureCode?: string;
  declineCode?: string;
  paymentMethodBrand?: string;
  paymentMethodLast4?: string;
}

export interface TransitionWrite {
  event: PaymentEvent;
  idempotencyKey: string;
  /** Capture: how much (default all of amount_capturable). Refunds: the refund's amount. */
  amountMinor?: number;
  patch?: PaymentPatch;
  eventData?: Record<string, unknown>;
}

/**
 * Moves a payment the caller has locked (`current`): the next status from the state machine
 * (throws payment_invalid_state), the amounts from `amountsAfter`, version + 1, and the event with
 * sequence = the new version — one statement. `version = $2` re-checks that nobody wrote the row
 * since it was locked; zero rows would mean a writer that skipped the lock, a bug.
 */
export async function writeTransition(client: pg.PoolClient, current: Payment, write: TransitionWrite): Promise<Payment> {
  const status = nextStatus(current.status, write.event);
  const amounts = amountsAfter(write.event, current, write.amountMinor);
  assertAmounts(amounts);
  const patch = write.patch ?? {};
  const type: PaymentEventType = EVENT_TYPES[write.event];
  const data = {
    ...write.eventData,
    previous_status: current.status,
    status,
    amount_capturable: amounts.amountCapturableMinor,
    amount_captured: amounts.amountCapturedMinor,
    amount_refunded: amounts.amountRefundedMinor,
    ...(patch.failureCode ? { failure_code: patch.failureCode } : {}),
    ...(patch.declineCode ? { decline_code: patch.declineCode } : {}),
  };
  const { rows } = await client.query(
    prepared('payments-write-transition',
    `WITH p AS (
       UPDATE payments SET status = $3, amount_capturable = $4, amount_captured = $5, amount_refunded = $6,
         processor = coalesce($7, processor), processor_reference = coalesce($8, processor_reference),
         hold_id = coalesce($9, hold_id), failure_code = coalesce($10, failure_code),
         decline_code = coalesce($11, decline_code), payment_method_brand = coalesce($12, payment_method_brand),
         payment_method_last4 = coalesce($13, payment_method_last4), version = version + 1, updated_at = now()
       WHERE id = $1 AND version = $2
       RETURNING ${PAYMENT_COLUMNS}),
     e AS (
       INSERT INTO payment_events (id, payment_id, tenant_id, sequence, type, idempotency_key, data)
       SELECT $14, p.id, p.tenant_id, p.version, $15, $16, $17 FROM p),
     o AS (
       INSERT INTO outbox (id, tenant_id, topic, idempotency_key, payload)
       SELECT $14, p.tenant_id, $18::text, 'payment_event:' || $14, jsonb_build_object(
         'payment_id', p.id, 'event_type', $15::text, 'status', p.status, 'amount', p.amount, 'currency', p.currency,
         'amount_captured', p.amount_captured, 'amount_refunded', p.amount_refunded,
         'merchant_account_id', p.merchant_account_id, 'failure_code', p.failure_code, 'decline_code', p.decline_code,
         'metadata', p.metadata)
       FROM p WHERE $18::text IS NOT NULL)
     SELECT * FROM p`),
    [
      current.id, current.version, status, amounts.amountCapturableMinor, amounts.amountCapturedMinor,
      amounts.amountRefundedMinor, patch.processor ?? null, patch.processorReference ?? null, patch.holdId ?? null,
      patch.failureCode ?? null, patch.declineCode ?? null, patch.paymentMethodBrand ?? null,
      patch.paymentMethodLast4 ?? null, newId('event'), type, write.idempotencyKey, data, OUTBOX_TOPICS[type] ?? null,
    ],
  );
  if (!rows[0]) throw new PaymentInvariantError(`payment ${current.id} changed under its row lock (version ${current.version})`);
  return toPayment(rows[0]);
}
