import { createRoute, z } from '@hono/zod-openapi';
import { withTransaction } from '../../store/db.js';
import { scheduleTermination, unscheduleTermination } from '../../store/hr/employees.js';
import { workflowContracts } from '../../workflows/contracts.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { commonErrors, FreeText, IdParam, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';
import { startWorkflow } from '../workflow-start.js';
import { IsoDate } from './schemas.js';
import { EmployeeBody, serializeEmployee } from './serialize.js';

/** Contract §9; the schema's CHECK bounds the reason to the same length. */
export const TERMINATION_REASON_LENGTH_MAX = 1000;

const Terminate = z
  .strictObject({
    termination_date: IsoDate.openapi({ description: 'The last day employed (inclusive, a UTC day), not before the hire date.' }),
    reason: FreeText(TERMINATION_REASON_LENGTH_MAX).optional(),
  })
  .openapi('TerminateEmployee');

const routes = {
  terminate: createRoute({
    method: 'post', path: '/{id}/terminate', tags: ['HR'], summary: 'Terminate an employee: schedules the offboarding workflow',
    description: 'Stores the last day and starts the offboarding run, which at 00:00 UTC after the last day (at once when that '
      + 'is past) moves the reports and the approvals waiting for the employee to their own manager, cancels their pending leave '
      + 'and approved leave after the last day (days released), and sets `status: terminated`. Until then the employee is `active`. '
      + 'An employee terminated or with a termination scheduled: `409 resource_exists`.',
    request: { params: IdParam, body: jsonBody(Terminate), headers: idempotencyHeader },
    responses: { 202: jsonResponse('The employee, with termination_date and termination_reason (status still active)', EmployeeBody), ...commonErrors },
  }),
};

/** `POST /v1/employees/:id/terminate` (contract §9): an HR write like the employee's update, so no actor. */
export function offboardingRoutes({ pool, temporal, config }: AppDeps) {
  return createRouter().openapi(routes.terminate, async (c) => {
    const tenantId = tenantOf(c);
    const b = c.req.valid('json');
    const input = {
      tenantId, employeeId: c.req.valid('param').id, terminationDate: b.termination_date, reason: b.reason ?? null,
      requestKey: c.req.header('idempotency-key') ?? null,
    };
    // The termination and its audit event commit together; a retry of this request (same key) adopts them.
    const { employee } = await withTransaction(pool, async (client) => {
      const scheduled = await scheduleTermination(client, input);
      if (!scheduled.adopted) await recordAuditInTransaction(client, c, { resourceId: scheduled.employee.id, status: 202 });
      return scheduled;
    });
    // One run per employee: a retry finds the run (USE_EXISTING) or its closed run (never a second).
    await startWorkflow({ temporal, config }, workflowContracts.offboarding, {
      key: employee.id, tenantId,
      input: { tenantId, employeeId: employee.id, terminationDate: input.terminationDate },
      undoIfNotStarted: () => unscheduleTermination(pool, tenantId, employee.id, input.terminationDate),
    });
    return c.json(serializeEmployee(employee), 202);
  });
}
