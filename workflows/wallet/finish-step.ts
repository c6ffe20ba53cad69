import { ApplicationFailure, isCancellation, type LocalActivityOptions } from '@temporalio/workflow';
import { localMustFinishActivity, mustFinishActivity, proxySteps } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import { failureType } from '../saga.js';

/** `localMustFinishActivity` with one attempt: the first try of a must-finish step (see `finishStep`). */
export const localFirstAttempt: LocalActivityOptions = {
  ...localMustFinishActivity,
  retry: { ...localMustFinishActivity.retry, maximumAttempts: 1 },
};

const FINAL_TYPES: ReadonlySet<string> = new Set(localMustFinishActivity.retry?.nonRetryableErrorTypes ?? []);

/** A failure no retry can change: a cancellation, a non-retryable type, or one the step marked non-retryable. */
function isFinal(err: unknown): boolean {
  if (isCancellation(err)) return true;
  const type = failureType(err);
  if (type !== undefined && FINAL_TYPES.has(type)) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return [err, cause].some((e) => e instanceof ApplicationFailure && e.nonRetryable === true);
}

/**
 * A must-finish step of a run whose steps are local (issue #14), with its in-between status shown
 * only when someone could see it. The first attempt runs alone (`once`, options
 * `localFirstAttempt`): when it succeeds, the run moves on in the same workflow task, and the
 * in-between status (`held`, `pulled`) would have been superseded before the task completed, so it
 * is never upserted (one search-attribute upsert and one visibility write fewer per run). When it
 * fails for a reason a retry may fix, `whileRetrying` upserts that status (visible while the step
 * retries: "funds reserved") and the step runs again with its full policy (`retried`, the same
 * idempotency key). A final failure is thrown as it is, as the full policy would have.
 *
 * @example
 * await finishStep(() => first.postTransfer(step), () => mustFinish.postTransfer(step), () => setBusinessStatus('held'));
 */
export async function finishStep<T>(once: () => Promise<T>, retried: () => Promise<T>, whileRetrying: () => void): Promise<T> {
  try {
    return await once();
  } catch (err) {
    if (isFinal(err)) throw err;
    whileRetrying();
    return retried();
  }
}

/**
 * A must-finish step with its in-between `status` (`held`, `pulled`): on a run with local steps
 * through `finishStep` (the status only while the step retries); on an older run as 0.1.0 ran it
 * (the status upserted, then the step on `mustFinish`, its regular activities) — the same commands.
 */
export function finishWithStatus<A extends object, T>(
  local: boolean, mustFinish: A, status: string, step: (activities: A) => Promise<T>,
): Promise<T> {
  if (!local) {
    setBusinessStatus(status);
    return step(mustFinish);
  }
  const first = proxySteps<A>(true, localFirstAttempt, mustFinishActivity);
  return finishStep(() => step(first), () => step(mustFinish), () => setBusinessStatus(status));
}
