import { errors } from '../errors.js';
import { runUpdate } from '../workflow-updates.js';

/**
 * Runs an Update on a payment's saga: refused (by its validator or a step the database refused)
 * → 409 `payment_invalid_state` or 400 `amount_too_large`; a saga that has already closed → 409.
 */
export function paymentUpdate<T>(fn: () => Promise<T>): Promise<T> {
  return runUpdate(fn, () => errors.paymentInvalidState('The payment no longer accepts changes.'));
}
