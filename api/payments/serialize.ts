import { z } from '@hono/zod-openapi';
import type { Payment, PaymentEventRecord, Refund } from '../../domain/payments/types.js';
import { RiskBody, serializeRisk } from '../risk/serialize.js';

export const PaymentBody = z
  .object({
    id: z.string(), object: z.literal('payment'), status: z.string(), amount: z.number().int(),
    amount_capturable: z.number().int(), amount_captured: z.number().int(), amount_refunded: z.number().int(),
    currency: z.string(), merchant_account_id: z.string(),
    payment_method: z.object({ type: z.string(), brand: z.string().optional(), last4: z.string().optional() }),
    processor: z.string().nullable(), failure_code: z.string().nullable(), decline_code: z.string().nullable(),
    capture_method: z.enum(['automatic', 'manual']), description: z.string().nullable(),
    metadata: z.record(z.string(), z.string()), risk: RiskBody, created_at: z.string(), updated_at: z.string(),
  })
  .openapi('Payment');

export function serializePayment(p: Payment): z.infer<typeof PaymentBody> {
  const method = p.paymentMethod;
  return {
    id: p.id, object: 'payment', status: p.status, amount: p.amountMinor, amount_capturable: p.amountCapturableMinor,
    amount_captured: p.amountCapturedMinor, amount_refunded: p.amountRefundedMinor, currency: p.currency,
    merchant_account_id: p.merchantAccountId,
    // Only the type, brand and last 4 digits leave the system: never the token.
    payment_method: { type: method.type, ...(method.brand ? { brand: method.brand } : {}), ...(method.last4 ? { last4: method.last4 } : {}) },
    processor: p.processor, failure_code: p.failureCode, decline_code: p.declineCode, capture_method: p.captureMethod,
    description: p.description, metadata: p.metadata, risk: serializeRisk(p.risk),
    created_at: p.createdAt.toISOString(), updated_at: p.updatedAt.toISOString(),
  };
}

export const RefundBody = z
  .object({ id: z.string(), object: z.literal('refund'), payment_id: z.string(), amount: z.number().int(), status: z.string(), failure_code: z.string().nullable() })
  .openapi('Refund');

export function serializeRefund(r: Refund): z.infer<typeof RefundBody> {
  return { id: r.id, object: 'refund', payment_id: r.paymentId, amount: r.amountMinor, status: r.status, failure_code: r.failureCode ?? null };
}

export const PaymentEventBody = z
  .object({ id: z.string(), object: z.literal('event'), type: z.string(), sequence: z.number().int(), data: z.record(z.string(), z.unknown()), created_at: z.string() })
  .openapi('PaymentEvent');

export function serializeEvent(e: PaymentEventRecord): z.infer<typeof PaymentEventBody> {
  return { id: e.id, object: 'event', type: e.type, sequence: e.sequence, data: e.data, created_at: e.createdAt.toISOString() };
}
