import { createRoute, z } from '@hono/zod-openapi';
import { errors } from '../errors.js';
import { createRouter, type AppDeps } from '../context.js';
import { commonErrors, FreeText, jsonBody, jsonResponse, listOf } from '../schemas.js';
import {
  cancelWorkflow, EXECUTION_STATUSES, listWorkflows, parseDurationMs, retryWorkflow, terminateWorkflow,
  type ExecutionStatus,
} from './workflow-ops.js';

const statusNames = Object.keys(EXECUTION_STATUSES) as [ExecutionStatus, ...ExecutionStatus[]];

const ListQuery = z.strictObject({
  type: z.string().min(1).max(200).optional(),
  status: z.enum(statusNames).optional(),
  business_status: z.string().min(1).max(100).optional(),
  worker_version: z.string().regex(/^[A-Za-z0-9_-]{1,100}:[A-Za-z0-9_.+-]{1,100}$/, 'deployment:buildId, e.g. steadfast:0.1.0').optional(),
  older_than: z.string().regex(/^\d{1,6}(s|m|h|d)$/, 'A duration such as 90s, 15m, 2h or 7d.').optional(),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

const WorkflowRunBody = z
  .object({
    object: z.literal('workflow_run'), workflow_id: z.string(), run_id: z.string(), type: z.string(), status: z.string(),
    business_status: z.string().nullable(), tenant_id: z.string().nullable(),
    worker_version: z.string().nullable().openapi({ description: 'The Worker Deployment Version the run is on (deployment:buildId); null when unversioned.' }),
    start_time: z.string(),
    close_time: z.string().nullable(),
  })
  .openapi('WorkflowRun');

const WorkflowIdParam = z.strictObject({
  workflow_id: z.string().min(1).max(300).openapi({ param: { name: 'workflow_id', in: 'path' } }),
});
const Reason = z.strictObject({ reason: FreeText(500).min(1) });
const ActionResult = z
  .object({ workflow_id: z.string(), result: z.string(), run_id: z.string().optional(), previous_run_id: z.string().optional() })
  .openapi('WorkflowActionResult');

const actionResponses = { 200: jsonResponse('Done', ActionResult), ...commonErrors };
const cancelRoute = createRoute({
  method: 'post', path: '/{workflow_id}/cancel', tags: ['Ops'], summary: 'Request cancellation: the saga compensates',
  request: { params: WorkflowIdParam }, responses: actionResponses,
});
const withReason = (verb: 'terminate' | 'retry', summary: string) => createRoute({
  method: 'post', path: `/{workflow_id}/${verb}`, tags: ['Ops'], summary,
  request: { params: WorkflowIdParam, body: jsonBody(Reason) }, responses: actionResponses,
});

const listRoute = createRoute({
  method: 'get', path: '/', tags: ['Ops'], summary: 'Runs from Temporal visibility (eventually consistent)',
  request: { query: ListQuery },
  responses: { 200: jsonResponse('Runs, newest first', listOf(WorkflowRunBody)), ...commonErrors },
});

/** `/v1/ops/workflows` (admin key): find stuck runs and cancel, terminate or retry them. */
export function workflowOpsRoutes({ temporal }: AppDeps) {
  return createRouter()
    .openapi(listRoute, async (c) => {
      const q = c.req.valid('query');
      const olderThanMs = q.older_than === undefined ? undefined : parseDurationMs(q.older_than);
      if (olderThanMs === null) throw errors.parameterInvalid('older_than', 'A duration such as 90s, 15m, 2h or 7d.');
      const page = await listWorkflows(temporal, {
        type: q.type, status: q.status, businessStatus: q.business_status, workerVersion: q.worker_version, olderThanMs, limit: q.limit,
      });
      return c.json(page, 200);
    })
    .openapi(cancelRoute, async (c) => c.json(await cancelWorkflow(temporal, c.req.valid('param').workflow_id), 200))
    .openapi(withReason('terminate', 'Terminate at once (no compensation runs)'), async (c) =>
      c.json(await terminateWorkflow(temporal, c.req.valid('param').workflow_id, c.req.valid('json').reason), 200))
    .openapi(withReason('retry', 'Reset to the last completed workflow task'), async (c) =>
      c.json(await retryWorkflow(temporal, c.req.valid('param').workflow_id, c.req.valid('json').reason), 200));
}
