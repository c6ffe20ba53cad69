import {
  cancelWorkflow, EXECUTION_STATUSES, listWorkflows, parseDurationMs, retryWorkflow, terminateWorkflow,
  type ExecutionStatus, type WorkflowRun,
} from '../../api/ops/workflow-ops.js';
import { describeDeployment, setCurrentVersion, setRampingVersion } from '../../platform/worker-deployment.js';
import { reconcileStarts } from '../../workers/start-reconciler.js';
import type { Handler } from './context.js';
import { intOption, UsageError, type Invocation } from './parse.js';
import { formatFields, formatTable, shortTime } from './table.js';

/** The Temporal side of `npm run ops`: stuck runs, the start reconciler, the Worker Deployment. */

const IDENTITY = 'npm run ops';

/** `--older-than 15m` → ms; absent → undefined; malformed → a usage error (never silently ignored). */
function ageOption(invocation: Invocation): number | undefined {
  const text = invocation.options['older-than'];
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === null) throw new UsageError(`--older-than takes an age such as 90s, 15m, 2h or 7d, not ${text}`);
  return ms;
}

function statusOption(invocation: Invocation): ExecutionStatus | undefined {
  const status = invocation.options.status;
  if (status !== undefined && !(status in EXECUTION_STATUSES)) {
    throw new UsageError(`--status is one of ${Object.keys(EXECUTION_STATUSES).join(', ')}, not ${status}`);
  }
  return status as ExecutionStatus | undefined;
}

const RUN_COLUMNS = [
  { header: 'WORKFLOW ID', value: (r: WorkflowRun) => r.workflow_id },
  { header: 'TYPE', value: (r: WorkflowRun) => r.type },
  { header: 'STATUS', value: (r: WorkflowRun) => r.status },
  { header: 'BUSINESS STATUS', value: (r: WorkflowRun) => r.business_status },
  { header: 'STARTED', value: (r: WorkflowRun) => shortTime(r.start_time) },
];

export const list: Handler = async (invocation, ctx) => {
  const filter = {
    type: invocation.options.type, status: statusOption(invocation), businessStatus: invocation.options['business-status'],
    workerVersion: invocation.options['worker-version'], olderThanMs: ageOption(invocation),
    limit: intOption(invocation, 'limit', { min: 1, max: 100, byDefault: 20 }),
  };
  const page = await listWorkflows(await ctx.temporal(), filter);
  const count = `${page.data.length} run${page.data.length === 1 ? '' : 's'}`;
  const footer = page.has_more ? `${count} shown; more match: narrow the filter or raise --limit (at most 100)` : count;
  return { data: page, text: page.data.length ? `${formatTable(RUN_COLUMNS, page.data)}\n\n${footer}` : 'No runs match.' };
};

const workflowId = (invocation: Invocation) => invocation.args[0]!;
const reason = (invocation: Invocation) => invocation.options.reason!;

export const cancel: Handler = async (invocation, ctx) => {
  const result = await cancelWorkflow(await ctx.temporal(), workflowId(invocation));
  return { data: result, text: `${result.workflow_id}: cancellation requested; the saga runs its compensations.` };
};

export const terminate: Handler = async (invocation, ctx) => {
  const result = await terminateWorkflow(await ctx.temporal(), workflowId(invocation), reason(invocation));
  return { data: result, text: `${result.workflow_id}: terminated (no compensation ran).` };
};

export const retry: Handler = async (invocation, ctx) => {
  const result = await retryWorkflow(await ctx.temporal(), workflowId(invocation), reason(invocation));
  return {
    data: result,
    text: `${result.workflow_id}: reset to its last completed workflow task.\n`
      + formatFields([['previous run', result.previous_run_id], ['new run', result.run_id]]),
  };
};

export const reconcile: Handler = async (invocation, ctx) => {
  const config = ctx.config();
  const afterMs = ageOption(invocation) ?? config.RECONCILE_AFTER_MS;
  const report = await reconcileStarts({ pool: ctx.pool(), temporal: await ctx.temporal(), config, afterMs });
  const rows = Object.entries(report).map(([kind, counts]) => ({ kind, ...counts }));
  const count = (header: string, key: keyof (typeof rows)[number]) => ({ header, value: (r: (typeof rows)[number]) => r[key], align: 'right' as const });
  const table = formatTable([
    { header: 'KIND', value: (r) => r.kind },
    count('STARTED', 'started'), count('ADOPTED', 'adopted'), count('STUCK', 'stuck'), count('FAILED', 'failed'),
    count('STILL UNSTARTED', 'unstarted'),
  ], rows);
  return { data: report, text: `Start reconciler pass over rows older than ${afterMs / 1000}s:\n${table}` };
};

export const deployment: Handler = async (_invocation, ctx) => {
  const deploymentName = ctx.config().WORKER_DEPLOYMENT_NAME;
  const described = await describeDeployment(await ctx.temporal(), deploymentName);
  if (!described) {
    const error = 'no worker has polled under this deployment name';
    return { data: { deployment: deploymentName, error }, text: `Deployment ${deploymentName}: ${error}.`, exitCode: 1 };
  }
  const ramping = described.ramping ? `${described.ramping.buildId} at ${described.ramping.percentage}%` : null;
  const versions = formatTable([
    { header: 'BUILD ID', value: (v) => v.buildId },
    { header: 'STATUS', value: (v) => v.status },
    { header: 'DRAINAGE', value: (v) => v.drainage },
    { header: 'CREATED', value: (v) => shortTime(v.createdAt) },
  ], described.versions);
  const fields = formatFields([['deployment', deploymentName], ['current', described.currentBuildId], ['ramping', ramping]]);
  return { data: described, text: `${fields}\n\n${versions}` };
};

export const setCurrent: Handler = async (invocation, ctx) => {
  const deploymentName = ctx.config().WORKER_DEPLOYMENT_NAME;
  const buildId = invocation.args[0]!;
  const { previousBuildId } = await setCurrentVersion(await ctx.temporal(), { deploymentName, buildId }, { identity: IDENTITY });
  return {
    data: { deployment: deploymentName, current: buildId, previous: previousBuildId },
    text: `${deploymentName}: ${buildId} is current (was ${previousBuildId ?? 'none'}).`,
  };
};

export const ramp: Handler = async (invocation, ctx) => {
  const [buildId, percentText] = invocation.args as [string, string];
  const percentage = /^\d{1,3}(\.\d+)?$/.test(percentText) ? Number(percentText) : NaN;
  if (!(percentage >= 0 && percentage <= 100)) throw new UsageError(`<percent> is a number from 0 to 100, not ${percentText}`);
  const deploymentName = ctx.config().WORKER_DEPLOYMENT_NAME;
  const ends = percentage === 0;
  await setRampingVersion(await ctx.temporal(), { deploymentName, buildId: ends ? '' : buildId }, percentage, { identity: IDENTITY });
  return {
    data: { deployment: deploymentName, ramping: ends ? null : { buildId, percentage } },
    text: ends ? `${deploymentName}: the ramp ended.` : `${deploymentName}: ${percentage}% of runs go to ${buildId}.`,
  };
};
