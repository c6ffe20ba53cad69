import { ApplicationFailure } from '@temporalio/activity';
import { LedgerError } from './ledger.js';

/**
 * Runs a ledger write and turns its business outcomes into non-retryable failures whose `type`
 * is the ledger's code; anything else (a lost connection, a deadlock) stays retryable.
 */
export async function asActivity<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LedgerError) {
      throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: true });
    }
    throw err;
  }
}
