import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import { createRoute, z } from '@hono/zod-openapi';
import { LEAVE_STATUSES } from '../../domain/hr/leave-state.js';
import type { LeaveRequest } from '../../domain/hr/types.js';
import { newId } from '../../domain/ids.js';
import { withTransaction } from '../../store/db.js';
import { createLeaveRequest, decideLeaveRequest, findLeaveRequest, listLeaveRequests } from '../../store/hr/leave.js';
import { approveUpdate, cancelLeaveUpdate, rejectUpdate } from '../../workflows/hr/types.js';
import type { Context } from 'hono';
import { createRouter, tenantOf, type AppDeps, type AppEnv } from '../context.js';
import { actorHeader, actorOf, requireActor } from '../middleware/actor.js';
import { errors } from '../errors.js';
import { commonErrors, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { requestKeyOf, startWorkflow, waitUntil } from '../workflow-start.js';
import { runUpdate, updateIdOf, updateOnceCaughtUp } from '../workflow-updates.js';
import { IsoDate, LeaveNote } from './schemas.js';
import { LeaveRequestBody, serializeLeaveRequest } from './serialize.js';

const CreateLeaveRequest = z
  .strictObject({
    employee_id: z.string().min(1).max(100), leave_type: z.string().min(1).max(64), start_date: IsoDate, end_date: IsoDate,
    half_day: z.enum(['am', 'pm']).optional(), reason: LeaveNote.optional(),
  })
  .openapi('CreateLeaveRequest');
// The person comes from the Steadfast-Actor JWT (contract §0); a body field naming them is optional and must match.
const Decision = z.strictObject({
  approver_id: z.string().min(1).max(100).optional().openapi({ description: 'Optional; when given, must equal the actor’s `sub`.' }),
  comment: LeaveNote.optional(),
});
const Cancel = z.strictObject({
  employee_id: z.string().min(1).max(100).optional().openapi({ description: 'Optional; when given, must equal the actor’s `sub`.' }),
});
const LeaveListQuery = ListQuery.extend({
  approver_id: z.string().min(1).max(100).optional(), employee_id: z.string().min(1).max(100).optional(),
  status: z.enum(LEAVE_STATUSES).optional(),
});

const actorHeaders = idempotencyHeader.extend(actorHeader.shape);
const decisionRoute = (path: 'approve' | 'reject', summary: string) => createRoute({
  method: 'post', path: `/{id}/${path}`, tags: ['HR'], summary,
  description: 'The approver is the acting user (`Steadfast-Actor`): only the current approver may decide (`403 not_approver`).',
  request: { params: IdParam, body: jsonBody(Decision), headers: actorHeaders },
  responses: { 200: jsonResponse('The request', LeaveRequestBody), ...commonErrors },
});
const routes = {
  create: createRoute({
    method: 'post', path: '/', tags: ['HR'], summary: 'Request leave: counts working days, reserves them, starts the approval',
    request: { body: jsonBody(CreateLeaveRequest), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The request (approved at once when the employee has no manager)', LeaveRequestBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['HR'], summary: 'A leave request with its history', request: { params: IdParam },
    responses: { 200: jsonResponse('The request', LeaveRequestBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags: ['HR'], summary: 'Leave requests (an approver’s inbox: ?approver_id=…&status=pending)',
    request: { query: LeaveListQuery }, responses: { 200: jsonResponse('Requests, newest first', listOf(LeaveRequestBody)), ...commonErrors },
  }),
  approve: decisionRoute('approve', 'Approve (the current approver only)'),
  reject: decisionRoute('reject', 'Reject (the current approver only)'),
  cancel: createRoute({
    method: 'post', path: '/{id}/cancel', tags: ['HR'], summary: 'Cancel (the employee; pending, or approved and not started)',
    description: 'The employee is the acting user (`Steadfast-Actor`); anyone else gets `403 not_approver`.',
    request: { params: IdParam, body: jsonBody(Cancel), headers: actorHeaders },
    responses: { 200: jsonResponse('The request', LeaveRequestBody), ...commonErrors },
  }),
};

const leaveUpdate = <T>(fn: () => Promise<T>) =>
  runUpdate(fn, () => errors.leaveRequestInvalidState('The leave request is no longer open.'));

/** The acting user, checked against a body field that also names them (contract §0: it must match). */
function actingPerson(c: Context<AppEnv>, named: string | undefined, field: 'approver_id' | 'employee_id'): string {
  const { sub } = actorOf(c);
  if (named !== undefined && named !== sub) throw errors.forbidden(`${field} must name the acting user (the Steadfast-Actor token's sub).`);
  return sub;
}

/** Answered once the workflow has taken it: approved at once (no manager), or waiting for an approver. */
const taken = (r: LeaveRequest) => r.status !== 'pending' || r.history.some((e) => e.action === 'notified');

export function leaveRequestRoutes({ pool, temporal, config }: AppDeps) {
  const actor = requireActor({ pool, config });
  const requireRequest = async (tenantId: string, id: string) => {
    const request = await findLeaveRequest(pool, tenantId, id);
    if (!request) throw errors.resourceMissing('leave_request', 'id');
    return request;
  };
  const approval = (id: string) => temporal.workflow.getHandle(workflowIdOf(workflowContracts.leaveApproval, id));
  /**
   * An escalation (or a new manager) names the new approver in the row a moment before the run
   * hears of it: a decision by the approver the row names, which the run still refuses as
   * `not_approver`, is sent again until the run catches up (api/workflow-updates.ts).
   */
  const asApprover = <T>(request: LeaveRequest, approverId: string, send: () => Promise<T>) => updateOnceCaughtUp(send, {
    refusedType: 'not_approver', waitMs: config.API_WAIT_WINDOW_MS,
    rowAllows: async () => {
      const now = await requireRequest(request.tenantId, request.id);
      return now.status === 'pending' && now.approverId === approverId;
    },
  });

  return createRouter()
    .openapi(routes.create, async (c) => {
      const tenantId = tenantOf(c);
      const b = c.req.valid('json');
      // A retry with the same Idempotency-Key adopts the request its first attempt wrote (and its run).
      const { request } = await withTransaction(pool, (client) => createLeaveRequest(client, {
        id: newId('leaveRequest'), tenantId, employeeId: b.employee_id, leaveType: b.leave_type, startDate: b.start_date,
        endDate: b.end_date, halfDay: b.half_day ?? null, reason: b.reason ?? null,
      }, requestKeyOf(c, config)));
      await startWorkflow({ temporal, config }, workflowContracts.leaveApproval, {
        key: request.id, tenantId,
        input: {
          tenantId, requestId: request.id, employeeId: request.employeeId, approverId: request.approverId, startDate: request.startDate,
          escalationAfterMs: config.LEAVE_ESCALATION_AFTER, expiryAfterMs: config.LEAVE_EXPIRY_AFTER,
        },
        // Definitely not started: give the reserved days back (the ledger is append-only, so by a
        // release). Maybe started: the request stays pending and the start reconciler sees it gets its run.
        undoIfNotStarted: () => withTransaction(pool, (client) => decideLeaveRequest(client, {
          tenantId, requestId: request.id, decision: 'expire', actorId: null, comment: 'The approval could not start.',
          idempotencyKey: `${workflowIdOf(workflowContracts.leaveApproval, request.id)}:not-started`,
        })),
      });
      let current = request;
      await waitUntil(async () => taken((current = await requireRequest(tenantId, request.id))), config.API_WAIT_WINDOW_MS);
      return c.json(serializeLeaveRequest(current), 201);
    })
    .openapi(routes.get, async (c) => c.json(serializeLeaveRequest(await requireRequest(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      const page = await listLeaveRequests(pool, tenantOf(c), {
        approverId: q.approver_id, employeeId: q.employee_id, status: q.status, limit: q.limit, startingAfter: q.starting_after,
      });
      return c.json({ ...page, data: page.data.map(serializeLeaveRequest) }, 200);
    })
    .openapi({ ...routes.approve, middleware: [actor] as const }, async (c) => {
      const b = c.req.valid('json');
      const approverId = actingPerson(c, b.approver_id, 'approver_id');
      const request = await requireRequest(tenantOf(c), c.req.valid('param').id);
      // With a key, every attempt of this request is one Update: a retry gets the first outcome.
      await leaveUpdate(() => asApprover(request, approverId, () => approval(request.id).executeUpdate(approveUpdate, {
        updateId: updateIdOf(c, 'approve'), args: [{ approverId, comment: b.comment }],
      })));
      return c.json(serializeLeaveRequest(await requireRequest(request.tenantId, request.id)), 200);
    })
    .openapi({ ...routes.reject, middleware: [actor] as const }, async (c) => {
      const b = c.req.valid('json');
      const approverId = actingPerson(c, b.approver_id, 'approver_id');
      const request = await requireRequest(tenantOf(c), c.req.valid('param').id);
      await leaveUpdate(() => asApprover(request, approverId, () => approval(request.id).executeUpdate(rejectUpdate, {
        updateId: updateIdOf(c, 'reject'), args: [{ approverId, comment: b.comment }],
      })));
      return c.json(serializeLeaveRequest(await requireRequest(request.tenantId, request.id)), 200);
    })
    .openapi({ ...routes.cancel, middleware: [actor] as const }, async (c) => {
      const employeeId = actingPerson(c, c.req.valid('json').employee_id, 'employee_id');
      const request = await requireRequest(tenantOf(c), c.req.valid('param').id);
      await leaveUpdate(() => approval(request.id).executeUpdate(cancelLeaveUpdate, { updateId: updateIdOf(c, 'cancel'), args: [{ employeeId }] }));
      return c.json(serializeLeaveRequest(await requireRequest(request.tenantId, request.id)), 200);
    });
}
