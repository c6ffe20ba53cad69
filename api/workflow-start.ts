import type { Client } from '@temporalio/client';
import { metrics } from '../platform/metrics.js';
import { BusinessStatus, TenantId } from '../workflows/search-attributes.js';

export interface StartOptions {
  temporal: Client;
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  tenantId: string;
  input: unknown;
  /** How long the request waits for the outcome before answering 202 (the API's wait window). */
  waitMs: number;
  /** Removes what the request wrote before the start, when the workflow could not be started. */
  undoIfNotStarted: () => Promise<unknown>;
}

/**
 * Starts a business workflow (idempotently: an existing run with this id is reused) tagged with
 * `TenantId` and `BusinessStatus`, then waits up to `waitMs` for it to close. Returns whether it
 * closed; the caller reads the outcome from PostgreSQL, the source of truth.
 */
export async function startAndWait(options: StartOptions): Promise<boolean> {
  const handle = await startWorkflow(options);
  if (options.waitMs <= 0) return false;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.waitMs);
  try {
    await options.temporal.withAbortSignal(abort.signal, () => handle.result());
    metrics.workflowResults.inc({ workflow_type: options.workflowType, status: 'completed' });
    return true;
  } catch {
    // Closed with a failure (the row says why), or the wait window passed (still pending).
    if (!abort.signal.aborted) metrics.workflowResults.inc({ workflow_type: options.workflowType, status: 'failed' });
    return !abort.signal.aborted;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the workflow (reusing a run with this id); undoes the caller's writes if it cannot. */
export async function startWorkflow(options: Omit<StartOptions, 'waitMs'>) {
  let handle;
  try {
    handle = await options.temporal.workflow.start(options.workflowType, {
      taskQueue: options.taskQueue,
      workflowId: options.workflowId,
      args: [options.input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: TenantId, value: options.tenantId },
        { key: BusinessStatus, value: 'pending' },
      ],
    });
  } catch (err) {
    metrics.workflowStarts.inc({ workflow_type: options.workflowType, result: 'failed' });
    await options.undoIfNotStarted();
    throw err;
  }
  metrics.workflowStarts.inc({ workflow_type: options.workflowType, result: 'started' });
  return handle;
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
