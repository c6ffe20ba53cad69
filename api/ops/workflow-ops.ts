import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import proto from '@temporalio/proto';
import { errors } from '../errors.js';
import { BusinessStatus, TenantId, WorkerDeploymentVersion } from '../../workflows/search-attributes.js';

/**
 * What ops do to stuck runs, shared by `/v1/ops/workflows` and `npm run ops`: list runs from
 * Temporal visibility, cancel (the saga compensates), terminate, and retry (reset to the last
 * completed workflow task, so the failed step runs again with the current code).
 */

export const EXECUTION_STATUSES = {
  running: 'Running', completed: 'Completed', failed: 'Failed', canceled: 'Canceled',
  terminated: 'Terminated', timed_out: 'TimedOut', continued_as_new: 'ContinuedAsNew',
} as const;
export type ExecutionStatus = keyof typeof EXECUTION_STATUSES;

export interface WorkflowFilter {
  type?: string;
  status?: ExecutionStatus;
  businessStatus?: string;
  /** On this Worker Deployment Version (`deployment:buildId`, e.g. `steadfast:0.1.0`). */
  workerVersion?: string;
  /** Started longer ago than this. */
  olderThanMs?: number;
  limit: number;
}

// @temporalio/proto is CommonJS: Node's ESM loader only sees its default export.
const WORKFLOW_TASK_COMPLETED = proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `15m`, `2h`, `7d` → milliseconds; null when malformed. */
export function parseDurationMs(text: string): number | null {
  const match = /^(\d{1,6})(s|m|h|d)$/.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : null;
}

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A visibility query from the filter (values quoted; names are fixed). */
export function visibilityQuery(filter: WorkflowFilter, now = new Date()): string {
  const clauses: string[] = [];
  if (filter.type) clauses.push(`WorkflowType = ${quote(filter.type)}`);
  if (filter.status) clauses.push(`ExecutionStatus = ${quote(EXECUTION_STATUSES[filter.status])}`);
  if (filter.businessStatus) clauses.push(`BusinessStatus = ${quote(filter.businessStatus)}`);
  if (filter.workerVersion) clauses.push(`TemporalWorkerDeploymentVersion = ${quote(filter.workerVersion)}`);
  if (filter.olderThanMs !== undefined) {
    clauses.push(`StartTime < ${quote(new Date(now.getTime() - filter.olderThanMs).toISOString())}`);
  }
  return clauses.join(' AND ');
}

export interface WorkflowRun {
  object: 'workflow_run';
  workflow_id: string;
  run_id: string;
  type: string;
  status: string;
  business_status: string | null;
  tenant_id: string | null;
  /** The Worker Deployment Version the run is on (`deployment:buildId`); null for an unversioned run. */
  worker_version: string | null;
  start_time: string;
  close_time: string | null;
}

function toRun(info: WorkflowExecutionInfo): WorkflowRun {
  return {
    object: 'workflow_run',
    workflow_id: info.workflowId,
    run_id: info.runId,
    type: info.type,
    status: info.status.name.toLowerCase(),
    business_status: info.typedSearchAttributes.get(BusinessStatus) ?? null,
    tenant_id: info.typedSearchAttributes.get(TenantId) ?? null,
    worker_version: info.typedSearchAttributes.get(WorkerDeploymentVersion) ?? null,
    start_time: info.startTime.toISOString(),
    close_time: info.closeTime?.toISOString() ?? null,
  };
}

export async function listWorkflows(client: Client, filter: WorkflowFilter) {
  const data: WorkflowRun[] = [];
  const query = visibilityQuery(filter);
  for await (const info of client.workflow.list({ query: query || undefined, pageSize: filter.limit + 1 })) {
    if (data.length === filter.limit) return { object: 'list' as const, data, has_more: true };
    data.push(toRun(info));
  }
  return { object: 'list' as const, data, has_more: false };
}

async function withRun<T>(client: Client, workflowId: string, fn: () => Promise<T>): Promise<T> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw errors.resourceMissing('workflow');
    throw err;
  }
}

export function cancelWorkflow(client: Client, workflowId: string) {
  return withRun(client, workflowId, async () => {
    await client.workflow.getHandle(workflowId).cancel();
    return { workflow_id: workflowId, result: 'cancel_requested' as const };
  });
}

export function terminateWorkflow(client: Client, workflowId: string, reason: string) {
  return withRun(client, workflowId, async () => {
    await client.workflow.getHandle(workflowId).terminate(reason);
    return { workflow_id: workflowId, result: 'terminated' as const };
  });
}

/** Resets the run to its last completed workflow task: everything after it runs again. */
export function retryWorkflow(client: Client, workflowId: string, reason: string) {
  return withRun(client, workflowId, async () => {
    const handle = client.workflow.getHandle(workflowId);
    const { runId } = await handle.describe();
    const history = await handle.fetchHistory();
    const lastCompleted = [...(history.events ?? [])]
      .reverse()
      .find((e) => e.eventType === WORKFLOW_TASK_COMPLETED);
    if (!lastCompleted?.eventId) {
      throw errors.parameterInvalid('workflow_id', 'This run has no completed workflow task to reset to.');
    }
    const response = await client.workflowService.resetWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId, runId },
      workflowTaskFinishEventId: lastCompleted.eventId,
      reason,
      requestId: randomUUID(),
    });
    return { workflow_id: workflowId, result: 'reset' as const, previous_run_id: runId, run_id: response.runId ?? '' };
  });
}
