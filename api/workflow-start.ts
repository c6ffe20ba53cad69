import type { Client } from '@temporalio/client';
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
  /** Removes what the request wrote before the start, when the workflow could not be started. */
  undoIfNotStarted: () => Promise<unknown>;
}

/**
 * Starts a business workflow by its contract (idempotently: an existing run with this id is
 * reused) on the contract's task queue, tagged with `TenantId` and `BusinessStatus`; undoes the
 * caller's writes if it cannot.
 */
export async function startWorkflow<N extends WorkflowName>(deps: StartDeps, contract: WorkflowContract<N>, request: StartRequest<N>) {
  let handle;
  try {
    handle = await deps.temporal.workflow.start(contract.type, {
      taskQueue: taskQueues(deps.config)[contract.queue],
      workflowId: workflowIdOf(contract, request.key),
      args: [request.input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: TenantId, value: request.tenantId },
        { key: BusinessStatus, value: 'pending' },
      ],
    });
  } catch (err) {
    metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'failed' });
    await request.undoIfNotStarted();
    throw err;
  }
  metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'started' });
  return handle;
}

/**
 * Starts the workflow, then waits up to `waitMs` (the API's wait window) for it to close. Returns
 * whether it closed; the caller reads the outcome from PostgreSQL, the source of truth.
 */
export async function startAndWait<N extends WorkflowName>(
  deps: StartDeps, contract: WorkflowContract<N>, request: StartRequest<N> & { waitMs: number },
): Promise<boolean> {
  const handle = await startWorkflow(deps, contract, request);
  if (request.waitMs <= 0) return false;
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

const POLL_INTERVAL_MS = 50;

/** Polls `settled` until it holds or `waitMs` passes (for runs that stay open, like payments). */
export async function waitUntil(settled: () => Promise<boolean>, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await settled()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}
