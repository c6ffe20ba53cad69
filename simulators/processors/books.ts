import { ulid } from 'ulid';
import { behaviourOf, type PaymentMethodType, type SimProcessor, type TokenBehaviour } from './tokens.js';

/** What a route answers; `loseResponse` asks the server to destroy the connection instead. */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
  loseResponse?: boolean;
}

export type OperationKind = 'authorization' | 'capture' | 'void' | 'refund';

interface StoredOperation {
  kind: OperationKind;
  fingerprint: string;
  reply: Reply;
}

export interface AuthorizationRecord {
  id: string;
  idempotencyKey: string;
  token: string;
  method: PaymentMethodType;
  amountMinor: number;
  currency: string;
  status: 'authorized' | 'declined';
  behaviour: TokenBehaviour;
  capturedMinor: number;
  refundedMinor: number;
  voided: boolean;
  operations: { kind: OperationKind; idempotency_key: string; id: string; status: string }[];
}

/** Operations kept per processor; a drill resets them long before this matters. */
const OPERATIONS_MAX = 100_000;

export function errorReply(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}

/**
 * One processor's in-memory books: its authorizations and every operation it applied, keyed by
 * the caller's idempotency key. Everything here is synchronous, so a check and the write that
 * follows it can never interleave with another request.
 */
export function createBooks(processor: SimProcessor) {
  const authorizations = new Map<string, AuthorizationRecord>();
  const operations = new Map<string, StoredOperation>();
  const counters = { requestsReceived: 0, lookupsReceived: 0 };

  /** Same key + same request: the first reply again. Same key + another request: 422. */
  function once(key: string, kind: OperationKind, request: unknown, run: () => Reply): Reply {
    const fingerprint = JSON.stringify([kind, request]);
    const seen = operations.get(key);
    if (seen) {
      if (seen.fingerprint !== fingerprint) {
        return errorReply(422, 'idempotency_key_reused', `Key ${key} was used for another request`);
      }
      return { status: seen.reply.status, body: seen.reply.body };
    }
    const reply = run();
    // Only outcomes are kept: a rejected or failed request changed nothing and may be sent again.
    if (reply.status === 200) {
      if (operations.size >= OPERATIONS_MAX) return errorReply(507, 'books_full', 'Reset the simulator');
      operations.set(key, { kind, fingerprint, reply: { status: reply.status, body: reply.body } });
    }
    return reply;
  }

  function authorize(key: string, request: { method: PaymentMethodType; token: string; amount: number; currency: string }): Reply {
    return once(key, 'authorization', request, () => {
      const behaviour = behaviourOf(request.token, request.method);
      if (behaviour.errorsAt?.includes(processor)) {
        return errorReply(500, 'processor_error', `${processor} failed to process the request`);
      }
      const record: AuthorizationRecord = {
        id: `auth_${ulid()}`, idempotencyKey: key, token: request.token, method: request.method,
        amountMinor: request.amount, currency: request.currency, status: behaviour.approve ? 'authorized' : 'declined',
        behaviour, capturedMinor: 0, refundedMinor: 0, voided: false, operations: [],
      };
      authorizations.set(record.id, record);
      const body = {
        id: record.id, object: 'authorization', processor, status: record.status, method: record.method,
        amount: record.amountMinor, currency: record.currency, brand: behaviour.brand, last4: behaviour.last4,
        failure_code: behaviour.failureCode, decline_code: behaviour.declineCode,
      };
      return { status: 200, body, loseResponse: behaviour.losesFirstResponse === true };
    });
  }

  return { processor, authorizations, operations, counters, once, authorize };
}

export type Books = ReturnType<typeof createBooks>;
