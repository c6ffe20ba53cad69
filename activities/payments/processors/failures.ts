import { ApplicationFailure } from '@temporalio/activity';
import { ProcessorError } from './errors.js';

/**
 * Runs a processor call inside an activity and turns a final outcome (a decline, a rejected
 * request) into a non-retryable failure whose `type` is the error's class name and whose details
 * carry the codes the payment records. Retryable ones (unavailable, outcome unknown) keep their
 * type and stay retryable: the activity runs again with the same idempotency key.
 *
 * @example
 * const auth = await asProcessorActivity(() => router.authorize(request));
 */
export async function asProcessorActivity<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ProcessorError) {
      const details = {
        processor: err.processor,
        operation: err.operation,
        failure_code: 'failureCode' in err ? err.failureCode : undefined,
        decline_code: 'declineCode' in err ? err.declineCode : undefined,
        reason: 'reason' in err ? err.reason : undefined,
      };
      throw ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: !err.retryable, details: [details] });
    }
    throw err;
  }
}
