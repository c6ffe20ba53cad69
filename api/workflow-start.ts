import { WithStartWorkflowOperation, type Client, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Context } from 'hono';
import type { RequestKey } from '../store/start-requests.js';
import { classifyStartError, type StartErrorKind } from '../platform/start-errors.js';
import { metrics } from '../platform/metrics.js';
import { taskQueues, type Config } from '../platform/config.js';
import { workflowIdOf, type WorkflowContract, type WorkflowInput, type WorkflowName } from '../workflows/contracts.js';
import { BusinessStatus, TenantId } from '../workflows/search-attributes.js';
import { childLogger } from '../platform/log.js';

const log = childLogger({ component: 'workflow-start' });

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
  // Drills and tests only: a crash between the caller's insert and the start.
  if (deps.config.FAULT_EXIT_BEFORE_START) process.kill(process.pid, 'SIGKILL');
  try {
    const handle = await deps.temporal.workflow.start(contract.type, startOptions(deps, contract, request));
    metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'started' });
    log.debug({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, workflowType: contract.type, tenantId: request.tenantId }, 'workflow started');
    return { handle, outcome: 'started' };
  } catch (err) {
    return await startFailed(deps, contract, request, err);
  }
}

/** The options of every start: one id, one run (USE_EXISTING, REJECT_DUPLICATE), tagged. */
function startOptions<N extends WorkflowName>(deps: StartDeps, contract: WorkflowContract<N>, request: StartRequest<N>) {
  return {
    taskQueue: taskQueues(deps.config)[contract.queue],
    workflowId: workflowIdOf(contract, request.key),
    args: [request.input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: TenantId, value: request.tenantId },
      { key: BusinessStatus, value: 'pending' },
    ],
  } satisfies WorkflowStartOptions & { workflowIdConflictPolicy: 'USE_EXISTING' };
}

/** A start call failed: undo and rethrow (`not_started`), or what is known of the run. */
async function startFailed<N extends WorkflowName>(
  deps: StartDeps, contract: WorkflowContract<N>, request: StartRequest<N>, err: unknown,
): Promise<StartedWorkflow> {
  const workflowId = workflowIdOf(contract, request.key);
  const kind = classifyStartError(err);
  if (kind === 'not_started') {
    metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'failed' });
    await request.undoIfNotStarted();
    throw err;
  }
  metrics.workflowStarts.inc({ workflow_type: contract.type, result: kind === 'exists' ? 'already_started' : 'ambiguous' });
  if (kind === 'ambiguous') {
    log.warn({ workflowId, workflowType: contract.type, tenantId: request.tenantId, err },
      'the start may or may not have happened; its row is kept for the start reconciler');
  }
  return { handle: deps.temporal.workflow.getHandle(workflowId), outcome: kind };
}

export interface StartWithUpdateRequest<N extends WorkflowName, Ret> extends StartRequest<N> {
  /** An Update of the workflow, without arguments, that returns once the run has something to answer. */
  update: UpdateDefinition<Ret, []>;
  /** Its id: every retry of one request runs the one Update (the server answers a repeat with its outcome). */
  updateId: string;
  /** The API's wait window: how long the caller waits for the Update before answering "pending". */
  waitMs: number;
}

/**
 * What came of the Update started with the run:
 * - `returned`: it returned `result` within the wait window;
 * - `window_passed`: the wait window passed first (the run goes on);
 * - `no_answer`: the run exists but gave no answer: it refused the Update (a worker of an older
 *   release, without its handler) or closed before answering; the caller finds out its own way;
 * - `none`: no Update ran: a closed run (`exists`) or a start that may not have happened (`ambiguous`).
 */
export type UpdateOnStart<Ret> = { kind: 'returned'; result: Ret } | { kind: 'window_passed' | 'no_answer' | 'none' };

/**
 * `startWorkflow` with an Update in the same request (Update-with-Start: one round trip, and the
 * Update reaches the run in its first workflow task), waited for up to `waitMs`: it replaces
 * polling PostgreSQL while the run works. Starts exactly as `startWorkflow` does (the same id,
 * policies and search attributes), and a failed start is handled the same way (undone only when
 * definitely refused; ambiguous: kept for the start reconciler). The wait window passing before
 * the server answered counts as `ambiguous` without a warning: the run is most likely under way,
 * and the row is kept either way.
 */
export async function startWithUpdate<N extends WorkflowName, Ret>(
  deps: StartDeps, contract: WorkflowContract<N>, request: StartWithUpdateRequest<N, Ret>,
): Promise<StartedWorkflow & { update: UpdateOnStart<Ret> }> {
  if (request.waitMs <= 0) return { ...(await startWorkflow(deps, contract, request)), update: { kind: 'none' } };
  if (deps.config.FAULT_EXIT_BEFORE_START) process.kill(process.pid, 'SIGKILL');
  const operation = new WithStartWorkflowOperation(contract.type, startOptions(deps, contract, request));
  // Set once the server has answered the start (the run exists), whatever happens to the Update.
  let startAnswered = false;
  operation.workflowHandle().then(() => (startAnswered = true), () => undefined);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), request.waitMs);
  const handle = () => deps.temporal.workflow.getHandle(workflowIdOf(contract, request.key));
  try {
    const result = await deps.temporal.withAbortSignal(abort.signal, () =>
      deps.temporal.workflow.executeUpdateWithStart(request.update, { updateId: request.updateId, startWorkflowOperation: operation }));
    metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'started' });
    log.debug({ workflowId: workflowIdOf(contract, request.key), workflowType: contract.type, tenantId: request.tenantId }, 'workflow started with an update');
    return { handle: handle(), outcome: 'started', update: { kind: 'returned', result } };
  } catch (err) {
    if (startAnswered) {
      metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'started' });
      return { handle: handle(), outcome: 'started', update: { kind: abort.signal.aborted ? 'window_passed' : 'no_answer' } };
    }
    if (abort.signal.aborted) {
      metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'ambiguous' });
      return { handle: handle(), outcome: 'ambiguous', update: { kind: 'window_passed' } };
    }
    return { ...(await startFailed(deps, contract, request, err)), update: { kind: 'none' } };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How often a request whose run may stop to wait for a person (a transfer in review) reads its row
 * while it waits for the run to close; the first read after this long, so a run that closes at once
 * costs no read.
 */
const WAITING_POLL_INTERVAL_MS = 100;

/**
 * Starts the workflow, then waits up to `waitMs` (the API's wait window) for it to close — or, with
 * `answeredEarly`, until that says the run now waits for someone (read every
 * WAITING_POLL_INTERVAL_MS). Returns whether it closed or answered; the caller reads the outcome
 * from PostgreSQL, the source of truth.
 */
export async function startAndWait<N extends WorkflowName>(
  deps: StartDeps, contract: WorkflowContract<N>,
  request: StartRequest<N> & { waitMs: number; answeredEarly?: () => Promise<boolean> },
): Promise<boolean> {
  const { handle, outcome } = await startWorkflow(deps, contract, request);
  // Ambiguous: there may be no run yet to wait for (the reconciler will start it): answer pending.
  if (request.waitMs <= 0 || outcome === 'ambiguous') return false;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), request.waitMs);
  const stopPolling = new AbortController();
  let early = false;
  const { answeredEarly } = request;
  if (answeredEarly) {
    void (async () => {
      while (!stopPolling.signal.aborted) {
        await new Promise((r) => setTimeout(r, WAITING_POLL_INTERVAL_MS));
        if (stopPolling.signal.aborted) return;
        if (await answeredEarly().catch(() => false)) {
          early = true;
          abort.abort();
          return;
        }
      }
    })();
  }
  try {
    await deps.temporal.withAbortSignal(abort.signal, () => handle.result());
    metrics.workflowResults.inc({ workflow_type: contract.type, status: 'completed' });
    return true;
  } catch {
    if (early) return true;
    // Closed with a failure (the row says why), or the wait window passed (still pending).
    if (!abort.signal.aborted) metrics.workflowResults.inc({ workflow_type: contract.type, status: 'failed' });
    return !abort.signal.aborted;
  } finally {
    clearTimeout(timer);
    stopPolling.abort();
  }
}

/**
 * How often a waiting request reads its row (a primary-key SELECT). 50 ms added 25 ms on average to
 * every answer (bench:payments p50 156 → 89 ms at 10 ms); the cost is at most 100 reads a second per
 * request still waiting. Payments wait on an Update instead (`startWithUpdate`) and poll only
 * when it gives no answer (an older worker).
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
