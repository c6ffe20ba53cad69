import { createRoute, z } from '@hono/zod-openapi';
import { AMOUNT_MAX } from '../../domain/money.js';
import { withTransaction } from '../../store/db.js';
import { findEmployee } from '../../store/hr/employees.js';
import { insertCompensation, listCompensations } from '../../store/payroll/compensations.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { errors } from '../errors.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { commonErrors, Currency, IdParam, idempotencyHeader, jsonBody, jsonResponse, listOf, ListQuery } from '../schemas.js';
import { IsoDate } from '../hr/schemas.js';
import { CompensationBody, serializeCompensation } from './serialize.js';

const CreateCompensation = z
  .strictObject({
    effective_date: IsoDate,
    annual_salary: z.number().int().min(1).max(AMOUNT_MAX)
      .openapi({ description: 'Yearly salary in the currency’s minor unit; paid monthly (annual / 12).', example: 6_000_000 }),
    currency: Currency,
  })
  .openapi('CreateCompensation');

const routes = {
  create: createRoute({
    method: 'post', path: '/{id}/compensation', tags: ['Payroll'],
    summary: 'Set the employee’s salary from a date on (effective-dated; one per date)',
    request: { params: IdParam, body: jsonBody(CreateCompensation), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The compensation', CompensationBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/{id}/compensation', tags: ['Payroll'], summary: 'The employee’s salary history, newest effective date first',
    request: { params: IdParam, query: ListQuery },
    responses: { 200: jsonResponse('A page of compensations', listOf(CompensationBody)), ...commonErrors },
  }),
};

/**
 * `/v1/employees/:id/compensation` (contract §9), mounted beside api/hr/employees.ts under
 * `/v1/employees`: its paths have one more segment than `/{id}`, so neither shadows the other.
 */
export function compensationRoutes({ pool }: AppDeps) {
  const requireEmployee = async (tenantId: string, id: string) => {
    if (!(await findEmployee(pool, tenantId, id))) throw errors.resourceMissing('employee', 'id');
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const tenantId = tenantOf(c);
      const employeeId = c.req.valid('param').id;
      await requireEmployee(tenantId, employeeId);
      const b = c.req.valid('json');
      const compensation = await withTransaction(pool, async (client) => {
        const inserted = await insertCompensation(client, {
          tenantId, employeeId, effectiveDate: b.effective_date, annualSalaryMinor: b.annual_salary, currency: b.currency,
        });
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        return inserted;
      });
      return c.json(serializeCompensation(compensation), 201);
    })
    .openapi(routes.list, async (c) => {
      const tenantId = tenantOf(c);
      const employeeId = c.req.valid('param').id;
      await requireEmployee(tenantId, employeeId);
      const q = c.req.valid('query');
      const page = await listCompensations(pool, tenantId, employeeId, { limit: q.limit, startingAfter: q.starting_after });
      return c.json({ ...page, data: page.data.map(serializeCompensation) }, 200);
    });
}
