import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Context } from 'hono';
import type { RequestKey } from '../store/start-requests.js';
import { classifyStartError, type StartErrorKind } from '../platform/start-errors.js';
import { metrics } from '../platform/metrics.js';
import { taskQueues, type Config } from '../platform/config.js';
import { workflowIdOf, type WorkflowContract, type WorkflowInput, type WorkflowName } from '../workflows/contracts.js';
import { BusinessStatus, TenantId } from '../workflows/search-attributes.js';

export interface StartDeps {
  temporal: Client;
  config: Config;
}

export interface StartRequest<N extends WorkflowName> {
  /** The business key of the run: its workflow id is the contract's `<idPrefix><key>`. */
  key: string;
  tenantId: string;
  /** Typed by the workflow function: a wrong input fails to compile. */
  input: WorkflowInput<N>;
  /**
   * Removes what the request wrote before the start. Called only when the start was definitely
   * refused (platform/start-errors.ts: `not_started`), never when the server may have started the run.
   */
  undoIfNotStarted: () => Promise<unknown>;
}

export type StartOutcome = 'started' | StartErrorKind;

export interface StartedWorkflow {
  handle: WorkflowHandle;
  /** `started`: the server answered (a new run, or the running one adopted: USE_EXISTING). */
  outcome: Exclude<StartOutcome, 'not_started'>;
}

/**
 * Starts a business workflow by its contract on the contract's task queue, tagged with `TenantId`
 * and `BusinessStatus`. One id never gets two runs: a running one is adopted (USE_EXISTING), a
 * closed one is never replaced (REJECT_DUPLICATE). Undoes the caller's writes only when the start
 * was definitely refused (and rethrows); an ambiguous failure keeps them (logged, counted) and
 * returns: the start reconciler gives the row its run if this start did not.
 */
export async function startWorkflow<N extends WorkflowName>(
  deps: StartDeps, contract: WorkflowContract<N>, request: StartRequest<N>,
): Promise<StartedWorkflow> {
  const workflowId = workflowIdOf(contract, request.key);
  // Drills and tests only: a crash between the caller's insert and the start.
  if (deps.config.FAULT_EXIT_BEFORE_START) process.kill(process.pid, 'SIGKILL');
  try {
    const handle = await deps.temporal.workflow.start(contract.type, {
      taskQueue: taskQueues(deps.config)[contract.queue],
      workflowId,
      args: [request.input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: TenantId, value: request.tenantId },
        { key: BusinessStatus, value: 'pending' },
      ],
    });
    metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'started' });
    return { handle, outcome: 'started' };
  } catch (err) {
    const kind = classifyStartError(err);
    if (kind === 'not_started') {
      metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'failed' });
      await request.undoIfNotStarted();
      throw err;
    }
    metrics.workflowStarts.inc({ workflow_type: contract.type, result: kind === 'exists' ? 'already_started' : 'ambiguous' });
    if (kind === 'ambiguous') {
      console.warn(`[start] ${workflowId}: the start may or may not have happened (${errorText(err)}); its row is kept for the start reconciler`);
    }
    return { handle: deps.temporal.workflow.getHandle(workflowId), outcome: kind };
  }
}

function errorText(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return err instanceof Error ? `${err.name}: ${err.message}${cause}` : String(err);
}

/**
 * Starts the workflow, then waits up to `waitMs` (the API's wait window) for it to close. Returns
 * whether it closed; the caller reads the outcome from PostgreSQL, the source of truth.
 */
export async function startAndWait<N extends WorkflowName>(
  deps: StartDeps, contract: WorkflowContract<N>, request: StartRequest<N> & { waitMs: number },
): Promise<boolean> {
  const { handle, outcome } = await startWorkflow(deps, contract, request);
  // Ambiguous: there may be no run yet to wait for (the reconciler will start it): answer pending.
  if (request.waitMs <= 0 || outcome === 'ambiguous') return false;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), request.waitMs);
  try {
    await deps.temporal.withAbortSignal(abort.signal, () => handle.result());
    metrics.workflowResults.inc({ workflow_type: contract.type, status: 'completed' });
    return true;
  } catch {
    // Closed with a failure (the row says why), or the wait window passed (still pending).
    if (!abort.signal.aborted) metrics.workflowResults.inc({ workflow_type: contract.type, status: 'failed' });
    return !abort.signal.aborted;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How often a waiting request reads its row (a primary-key SELECT). 50 ms added 25 ms on average to
 * every answer (bench:payments p50 156 → 89 ms at 10 ms); the cost is at most 100 reads a second per
 * request still waiting (~10 per payment today). Issue #14 replaces the polling with an Update.
 */
const POLL_INTERVAL_MS = 10;

/** Polls `settled` until it holds or `waitMs` passes (for runs that stay open, like payments). */
export async function waitUntil(settled: () => Promise<boolean>, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await settled()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

/**
 * The request's Idempotency-Key as the row's request key (store/start-requests.ts): a retry with the
 * same key adopts the row its first attempt wrote; a row older than the idempotency retention frees it.
 */
export function requestKeyOf(c: Context, config: Pick<Config, 'IDEMPOTENCY_RETENTION_HOURS'>): RequestKey {
  return { key: c.req.header('idempotency-key') ?? null, retentionHours: config.IDEMPOTENCY_RETENTION_HOURS };
}
