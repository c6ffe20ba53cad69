import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { withTransaction } from '../../store/db.js';
import { EMPLOYEE_STATUSES } from '../../domain/hr/types.js';
import { findEmployee, insertEmployee, listEmployees, listReports, updateEmployee } from '../../store/hr/employees.js';
import { allocateLeave, allocateOnHire, leaveBalances, listOpenLeaveRequests } from '../../store/hr/leave.js';
import { moveReviewsToManager } from '../../store/hr/reviews.js';
import { moveApprovals } from '../../workflows/hr/leave-runs.js';
import { requestLog } from '../middleware/access-log.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { errors } from '../errors.js';
import { commonErrors, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { Country, HalfDays, IsoDate, PersonText, Year } from './schemas.js';
import { EmployeeBody, LeaveBalanceBody, serializeBalance, serializeEmployee } from './serialize.js';

const CreateEmployee = z
  .strictObject({
    employee_number: z.string().min(1).max(64), first_name: PersonText(200), last_name: PersonText(200),
    email: z.string().email().max(320), department: PersonText(200), manager_id: z.string().min(1).max(100).optional(),
    hire_date: IsoDate, country: Country.optional(),
  })
  .openapi('CreateEmployee');
const UpdateEmployee = z
  .strictObject({
    first_name: PersonText(200).optional(), last_name: PersonText(200).optional(), email: z.string().email().max(320).optional(),
    department: PersonText(200).optional(), manager_id: z.string().min(1).max(100).nullable().optional(),
    country: Country.nullable().optional(), wallet_account_id: z.string().min(1).max(100).nullable().optional(),
  })
  .openapi('UpdateEmployee');
const EmployeeListQuery = ListQuery.extend({
  department: z.string().min(1).max(200).optional(), manager_id: z.string().min(1).max(100).optional(),
  status: z.enum(EMPLOYEE_STATUSES).optional(),
  q: z.string().min(1).max(320).optional().openapi({ description: 'A piece of the name, email or employee number (any case).' }),
});
const Allocate = z.strictObject({ leave_type: z.string().min(1).max(64), year: z.number().int().min(1900).max(9999), days: HalfDays });

const routes = {
  create: createRoute({
    method: 'post', path: '/', tags: ['HR'], summary: 'Hire an employee (unique number and email per tenant); leave types with annual_days allocate pro rata',
    request: { body: jsonBody(CreateEmployee), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The employee', EmployeeBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags: ['HR'], summary: 'Employees, newest first (filters; q searches name, email and number)',
    request: { query: EmployeeListQuery }, responses: { 200: jsonResponse('Employees', listOf(EmployeeBody)), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['HR'], summary: 'An employee', request: { params: IdParam },
    responses: { 200: jsonResponse('The employee', EmployeeBody), ...commonErrors },
  }),
  update: createRoute({
    method: 'post', path: '/{id}', tags: ['HR'], summary: 'Update an employee (only the fields given; a cycle in the org chart is refused)',
    request: { params: IdParam, body: jsonBody(UpdateEmployee), headers: idempotencyHeader },
    responses: { 200: jsonResponse('The employee', EmployeeBody), ...commonErrors },
  }),
  reports: createRoute({
    method: 'get', path: '/{id}/reports', tags: ['HR'], summary: 'The org chart below an employee (direct reports, or all)',
    request: { params: IdParam, query: z.strictObject({ depth: z.enum(['1', 'all']).default('1') }) },
    responses: { 200: jsonResponse('Reports, nearest first', listOf(EmployeeBody)), ...commonErrors },
  }),
  allocate: createRoute({
    method: 'post', path: '/{id}/leave-allocations', tags: ['HR'], summary: 'Allocate leave days for a year (steps of 0.5)',
    request: { params: IdParam, body: jsonBody(Allocate), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The balances after the allocation', listOf(LeaveBalanceBody)), ...commonErrors },
  }),
  balances: createRoute({
    method: 'get', path: '/{id}/leave-balances', tags: ['HR'], summary: 'Leave balances of a year, derived from the leave ledger',
    request: { params: IdParam, query: z.strictObject({ year: Year }) },
    responses: { 200: jsonResponse('Balances per leave type', z.array(LeaveBalanceBody)), ...commonErrors },
  }),
};

/**
 * The allocation's ledger key when the request has an Idempotency-Key: derived from the key and
 * what is allocated, so a retry whose first attempt allocated and then lost its answer (the API
 * died before storing it) finds that row instead of allocating again. Undefined without a key
 * (every request allocates, as before). The ledger keeps its keys for good: the same allocation
 * with the same key is one allocation even after the idempotency retention.
 */
function allocationKeyOf(
  requestKey: string | undefined, a: { employeeId: string; leaveType: string; year: number; days: number },
): string | undefined {
  if (requestKey === undefined) return undefined;
  const digest = createHash('sha256').update(JSON.stringify([requestKey, a.employeeId, a.leaveType, a.year, a.days])).digest('hex');
  return `allocation:${digest}`;
}

export function employeeRoutes({ pool, temporal }: AppDeps) {
  /**
   * A new manager takes over the employee's pending leave requests: each run's `reassignApprover`
   * Update moves its request (workflows/hr/leave-runs.ts). After the employee's change committed,
   * so a failure to move is logged, never the answer: a retry of the same update sends them again
   * (a no-op for those already moved).
   */
  async function moveApprovalsTo(log: ReturnType<typeof requestLog>, tenantId: string, employeeId: string, managerId: string) {
    await listOpenLeaveRequests(pool, tenantId, { employeeId })
      .then((open) => moveApprovals({ temporal, log }, open, managerId))
      .catch((err: unknown) => log.warn({ err, employeeId }, 'pending leave requests not moved to the new manager'));
  }
  const requireEmployee = async (tenantId: string, id: string) => {
    const employee = await findEmployee(pool, tenantId, id);
    if (!employee) throw errors.resourceMissing('employee', 'id');
    return employee;
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const b = c.req.valid('json');
      // The audit event commits with the change (a refusal is recorded by the audit middleware).
      const employee = await withTransaction(pool, async (client) => {
        const inserted = await insertEmployee(client, {
          tenantId: tenantOf(c), employeeNumber: b.employee_number, firstName: b.first_name, lastName: b.last_name, email: b.email,
          department: b.department, managerId: b.manager_id ?? null, hireDate: b.hire_date, country: b.country ?? null,
        });
        await allocateOnHire(client, inserted);
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        return inserted;
      });
      return c.json(serializeEmployee(employee), 201);
    })
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      const page = await listEmployees(pool, tenantOf(c), {
        department: q.department, managerId: q.manager_id, status: q.status, q: q.q, limit: q.limit, startingAfter: q.starting_after,
      });
      return c.json({ ...page, data: page.data.map(serializeEmployee) }, 200);
    })
    .openapi(routes.get, async (c) => c.json(serializeEmployee(await requireEmployee(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi(routes.update, async (c) => {
      const tenantId = tenantOf(c);
      const b = c.req.valid('json');
      const changes = {
        firstName: b.first_name, lastName: b.last_name, email: b.email, department: b.department, managerId: b.manager_id,
        country: b.country, walletAccountId: b.wallet_account_id,
      };
      const employee = await withTransaction(pool, async (client) => {
        const updated = await updateEmployee(client, { tenantId, employeeId: c.req.valid('param').id, changes });
        // The employee's waiting reviews of open cycles go to the new manager, with the change (issue #21).
        if (b.manager_id !== undefined) await moveReviewsToManager(client, { tenantId, employeeId: updated.id, managerId: b.manager_id });
        await recordAuditInTransaction(client, c, { resourceId: updated.id, status: 200 });
        return updated;
      });
      if (typeof b.manager_id === 'string') await moveApprovalsTo(requestLog(c), tenantId, employee.id, b.manager_id);
      return c.json(serializeEmployee(employee), 200);
    })
    .openapi(routes.reports, async (c) => {
      const { depth } = c.req.valid('query');
      const page = await listReports(pool, tenantOf(c), c.req.valid('param').id, depth === 'all' ? 'all' : 1);
      return c.json({ ...page, data: page.data.map(serializeEmployee) }, 200);
    })
    .openapi(routes.allocate, async (c) => {
      const employee = await requireEmployee(tenantOf(c), c.req.valid('param').id);
      const b = c.req.valid('json');
      const allocation = { tenantId: employee.tenantId, employeeId: employee.id, leaveType: b.leave_type, year: b.year, days: b.days };
      await allocateLeave(pool, { ...allocation, idempotencyKey: allocationKeyOf(c.req.header('idempotency-key'), allocation) });
      const balances = await leaveBalances(pool, employee.tenantId, employee.id, b.year);
      return c.json({ object: 'list' as const, data: balances.map(serializeBalance), has_more: false }, 201);
    })
    .openapi(routes.balances, async (c) => {
      const employee = await requireEmployee(tenantOf(c), c.req.valid('param').id);
      return c.json((await leaveBalances(pool, employee.tenantId, employee.id, c.req.valid('query').year)).map(serializeBalance), 200);
    });
}
