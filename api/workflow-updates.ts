import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { answerFor, type ApiError } from './errors.js';

/** The first ApplicationFailure type in an error's cause chain. */
function failureType(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ApplicationFailure && e.type) return e.type;
  }
  return undefined;
}

/**
 * Runs a Temporal Update and maps its refusals to the contract: the validator's (or a step's)
 * failure type is a domain code, answered as `api/errors.ts` maps it; a run that has already
 * closed answers `closed()`. Anything else propagates (a 500).
 */
export async function runUpdate<T>(fn: () => Promise<T>, closed: () => ApiError): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw closed();
    if (err instanceof WorkflowUpdateFailedError) {
      const refusal = answerFor(failureType(err) ?? '', err.cause?.message);
      if (refusal) throw refusal;
    }
    throw err;
  }
}
