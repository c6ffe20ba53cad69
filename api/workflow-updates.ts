import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Context } from 'hono';
import { logger } from '../platform/log.js';
import { answerFor, type ApiError } from './errors.js';

/**
 * The id of the Update a request sends, derived from its Idempotency-Key: `<action>:<key>`. The
 * key is scoped to the tenant and so is every run (one business object, one tenant), so the id is
 * too. The server runs one Update per id on a run and answers a repeat with the first outcome
 * (also once the run has closed: checked on Server 1.29, api/hr/lost-answer.test.ts), so a retry
 * of a request whose answer was lost (the API died after the Update, before storing the answer)
 * cannot act twice. Without a key: undefined, the SDK's random id (every request acts), as before.
 *
 * @example executeUpdate(captureUpdate, { updateId: updateIdOf(c, 'capture'), args: [{}] })
 */
export function updateIdOf(c: Context, action: string): string | undefined {
  const key = c.req.header('idempotency-key');
  return key === undefined ? undefined : `${action}:${key}`;
}

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
    if (err instanceof WorkflowNotFoundError) {
      // Also what an Update the server no longer knows looks like: say which, for whoever reads the log.
      logger.warn({ component: 'updates', workflowId: err.workflowId, runId: err.runId, reason: err.message }, 'update answered as closed (the server found no run or no such update)');
      throw closed();
    }
    if (err instanceof WorkflowUpdateFailedError) {
      const refusal = answerFor(failureType(err) ?? '', err.cause?.message);
      if (refusal) throw refusal;
    }
    throw err;
  }
}

/** How often an Update the run refused while a step behind its row is sent again. */
const CATCH_UP_INTERVAL_MS = 50;

/**
 * Sends an Update again while its run is a step behind its business row. A run's steps move the
 * row inside their activities, a moment before the run itself hears of the result: a client that
 * read the row (a create answered `awaiting_approval`, a GET that said `partially_failed`) and acts
 * at once can meet the run still in the step before, whose validator refuses with `refusedType`.
 * While the row, read again, says the action belongs (`rowAllows`), the Update is sent again every
 * CATCH_UP_INTERVAL_MS, for at most `waitMs` after the first refusal; then, or once the row says
 * otherwise, the refusal stands. A refused Update is not recorded, so its id (from the Idempotency-Key) is free again.
 */
export async function updateOnceCaughtUp<T>(
  send: () => Promise<T>, o: { refusedType: string; rowAllows: () => Promise<boolean>; waitMs: number },
): Promise<T> {
  let deadline: number | undefined;
  for (;;) {
    try {
      return await send();
    } catch (err) {
      deadline ??= Date.now() + o.waitMs;
      const behind = err instanceof WorkflowUpdateFailedError && failureType(err) === o.refusedType && Date.now() < deadline;
      if (!behind || !(await o.rowAllows())) throw err;
      await new Promise((r) => setTimeout(r, CATCH_UP_INTERVAL_MS));
    }
  }
}
