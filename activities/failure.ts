import { ApplicationFailure } from '@temporalio/activity';
import { DomainError } from '../domain/errors.js';

/**
 * The one translation from the domain to Temporal: a `DomainError` becomes an `ApplicationFailure`
 * typed by its `failureType` (the code a workflow matches on, and `nonRetryableErrorTypes` lists),
 * non-retryable unless the error says the same step may be tried again. Anything else (a lost
 * connection, a deadlock, a bug) is rethrown as it is, so Temporal retries it.
 *
 * @example
 * return asActivityStep(() => withTransaction(pool, (client) => placeHold(client, input)));
 */
export async function asActivityStep<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}

export function toActivityFailure(err: unknown): unknown {
  if (!(err instanceof DomainError)) return err;
  const details = err.failureDetails;
  return ApplicationFailure.create({
    type: err.failureType,
    message: err.message,
    nonRetryable: !err.retryable,
    ...(details ? { details: [details] } : {}),
  });
}
