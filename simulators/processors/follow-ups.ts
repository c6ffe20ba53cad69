import { ulid } from 'ulid';
import { errorReply, type AuthorizationRecord, type Books, type OperationKind, type Reply } from './books.js';

/**
 * Capture, void and refund of an authorization in one processor's books. Each is idempotent by
 * the caller's key (through `books.once`); a request the state does not allow answers 4xx and
 * changes nothing.
 */
export function capture(books: Books, authorizationId: string, key: string, amountMinor: number): Reply {
  return books.once(key, 'capture', { authorizationId, amount: amountMinor }, () =>
    withAuthorization(books, authorizationId, (auth) => {
      const refused = notOpen(auth);
      if (refused) return refused;
      if (amountMinor > auth.amountMinor) {
        return errorReply(400, 'amount_too_large', `Capture of ${amountMinor} exceeds the authorized ${auth.amountMinor}`);
      }
      const id = `cap_${ulid()}`;
      if (auth.behaviour.captureFails) {
        // A permanent decline: the authorization stays open, so the caller can still void it.
        applied(auth, 'capture', key, id, 'failed');
        return ok({ id, object: 'capture', authorization_id: auth.id, amount: amountMinor, status: 'failed', failure_code: 'capture_failed' });
      }
      auth.capturedMinor = amountMinor;
      applied(auth, 'capture', key, id, 'succeeded');
      return ok({ id, object: 'capture', authorization_id: auth.id, amount: amountMinor, status: 'succeeded' });
    }),
  );
}

export function voidAuthorization(books: Books, authorizationId: string, key: string): Reply {
  return books.once(key, 'void', { authorizationId }, () =>
    withAuthorization(books, authorizationId, (auth) => {
      const refused = notOpen(auth);
      if (refused) return refused;
      auth.voided = true;
      const id = `void_${ulid()}`;
      applied(auth, 'void', key, id, 'succeeded');
      return ok({ id, object: 'void', authorization_id: auth.id, status: 'succeeded' });
    }),
  );
}

export function refund(books: Books, authorizationId: string, key: string, amountMinor: number): Reply {
  return books.once(key, 'refund', { authorizationId, amount: amountMinor }, () =>
    withAuthorization(books, authorizationId, (auth) => {
      if (auth.capturedMinor === 0) return errorReply(409, 'authorization_not_captured', 'Nothing was captured to refund');
      const refundableMinor = auth.capturedMinor - auth.refundedMinor;
      if (amountMinor > refundableMinor) {
        return errorReply(400, 'amount_too_large', `Refund of ${amountMinor} exceeds the refundable ${refundableMinor}`);
      }
      auth.refundedMinor += amountMinor;
      const id = `rf_${ulid()}`;
      applied(auth, 'refund', key, id, 'succeeded');
      return ok({ id, object: 'refund', authorization_id: auth.id, amount: amountMinor, status: 'succeeded' });
    }),
  );
}

function withAuthorization(books: Books, id: string, run: (auth: AuthorizationRecord) => Reply): Reply {
  const auth = books.authorizations.get(id);
  if (!auth) return errorReply(404, 'authorization_not_found', `No authorization ${id} at ${books.processor}`);
  return run(auth);
}

/** Capture and void need an authorization that is still open: approved, not voided, not captured. */
function notOpen(auth: AuthorizationRecord): Reply | null {
  if (auth.status !== 'authorized') return errorReply(409, 'authorization_declined', `${auth.id} was declined`);
  if (auth.voided) return errorReply(409, 'authorization_voided', `${auth.id} was voided`);
  if (auth.capturedMinor > 0) return errorReply(409, 'authorization_captured', `${auth.id} was captured`);
  return null;
}

function applied(auth: AuthorizationRecord, kind: OperationKind, key: string, id: string, status: string): void {
  auth.operations.push({ kind, idempotency_key: key, id, status });
}

function ok(body: Record<string, unknown>): Reply {
  return { status: 200, body };
}
