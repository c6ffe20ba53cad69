import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { errors } from '../../domain/errors.js';

/** The first ApplicationFailure type in an error's cause chain. */
function failureType(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ApplicationFailure && e.type) return e.type;
  }
  return undefined;
}

/**
 * Runs a Temporal Update on a payment's saga and maps its refusals to the contract: an Update the
 * validator rejected (or a step the database refused) → 409 `payment_invalid_state` or 400
 * `amount_too_large`; a saga that has already closed → 409.
 */
export async function paymentUpdate<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw errors.paymentInvalidState('The payment no longer accepts changes.');
    if (err instanceof WorkflowUpdateFailedError) {
      const type = failureType(err);
      if (type === 'amount_too_large') throw errors.amountTooLarge(err.cause?.message ?? 'Amount too large.');
      if (type === 'payment_invalid_state') throw errors.paymentInvalidState(err.cause?.message);
    }
    throw err;
  }
}
