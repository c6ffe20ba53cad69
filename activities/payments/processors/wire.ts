import { z } from 'zod';
import { ProcessorDeclined, ProcessorOutcomeUnknown } from './errors.js';
import type { OperationKind, OperationResults } from './types.js';

/**
 * The simulated processors' JSON answers (simulators/processors), read into the adapter's types.
 * Objects are not strict: a processor adding a field must not break payments.
 */
const id = z.string().min(1).max(255);
const amount = z.number().int().min(1);
const failure = { failure_code: z.string().optional(), decline_code: z.string().optional() };

const authorizationWire = z.object({
  id, status: z.enum(['authorized', 'declined']), method: z.enum(['card', 'bank_transfer']), amount,
  currency: z.string().length(3), brand: z.string().optional(), last4: z.string().optional(), ...failure,
});
const captureWire = z.object({ id, authorization_id: id, amount, status: z.enum(['succeeded', 'failed']), ...failure });
const voidWire = z.object({ id, authorization_id: id, status: z.literal('succeeded') });
const refundWire = z.object({ id, authorization_id: id, amount, status: z.enum(['succeeded', 'failed']), ...failure });

/** The operation kinds as the processor names them in its lookup answers. */
export const WIRE_KIND: Record<OperationKind, string> = {
  authorize: 'authorization', capture: 'capture', void: 'void', refund: 'refund',
};

export const lookupWire = z.object({ idempotency_key: z.string(), kind: z.string(), status_code: z.number().int(), response: z.unknown() });

type Reader<K extends OperationKind> = (processor: string, body: unknown) => OperationResults[K];

const readers: { [K in OperationKind]: Reader<K> } = {
  authorize(processor, body) {
    const a = parse(processor, 'authorize', authorizationWire, body);
    if (a.status === 'declined') {
      throw new ProcessorDeclined(processor, 'authorize', a.failure_code ?? 'declined', a.decline_code, a.id);
    }
    return { processor, id: a.id, method: a.method, amountMinor: a.amount, currency: a.currency, brand: a.brand, last4: a.last4 };
  },
  capture(processor, body) {
    const c = parse(processor, 'capture', captureWire, body);
    if (c.status === 'failed') throw new ProcessorDeclined(processor, 'capture', c.failure_code ?? 'capture_failed', c.decline_code, c.authorization_id);
    return { processor, id: c.id, authorizationId: c.authorization_id, amountMinor: c.amount };
  },
  void(processor, body) {
    const v = parse(processor, 'void', voidWire, body);
    return { processor, id: v.id, authorizationId: v.authorization_id };
  },
  refund(processor, body) {
    const r = parse(processor, 'refund', refundWire, body);
    if (r.status === 'failed') throw new ProcessorDeclined(processor, 'refund', r.failure_code ?? 'refund_failed', r.decline_code, r.authorization_id);
    return { processor, id: r.id, authorizationId: r.authorization_id, amountMinor: r.amount };
  },
};

/** A successful answer as a result; a decline as `ProcessorDeclined`. */
export function readResult<K extends OperationKind>(kind: K, processor: string, body: unknown): OperationResults[K] {
  return readers[kind](processor, body);
}

function parse<T>(processor: string, kind: OperationKind, schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  // An answer we cannot read tells us nothing about what the processor did.
  if (!result.success) throw new ProcessorOutcomeUnknown(processor, kind, `${processor} sent an unreadable ${kind} answer`);
  return result.data;
}
