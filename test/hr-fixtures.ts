import type pg from 'pg';
import { createTenant } from '../api/admin/tenants.js';
import type { LeaveDecision } from '../domain/hr/types.js';
import { withTransaction } from '../store/db.js';
import { insertEmployee, type NewEmployee } from '../store/hr/employees.js';
import {
  allocateLeave, createLeaveRequest, decideLeaveRequest, leaveBalances, upsertLeaveType, type LeaveDecisionInput, type NewLeaveRequest,
} from '../store/hr/leave.js';

/**
 * A tenant with an `annual` leave type and helpers for the HR repository tests. Leave dates are
 * in YEAR (2031: March 3, 10, 17, 24 are Mondays). The only code that asks for "today" (whether an
 * approved leave has started) gets TODAY injected by `decide` — an injected clock: the real date
 * never reaches these tests, so they mean the same in any year and any TZ.
 */
export const YEAR = 2031;
export const TODAY = '2031-01-15';

export async function hrTenant(pool: pg.Pool, name: string) {
  const tenantId = (await createTenant(pool, name)).id;
  await upsertLeaveType(pool, { tenantId, code: 'annual', name: 'Annual leave' });
  let sequence = 0;

  return {
    tenantId,
    hire(fields: Partial<NewEmployee> = {}) {
      sequence++;
      return insertEmployee(pool, {
        tenantId, employeeNumber: `N${sequence}`, firstName: 'Grace', lastName: `Hopper${sequence}`,
        email: `grace${sequence}@example.com`, department: 'Operations', hireDate: '2024-01-02', ...fields,
      });
    },
    async allocate(employeeId: string, days: number, leaveType = 'annual', year = YEAR) {
      return (await allocateLeave(pool, { tenantId, employeeId, leaveType, year, days })).entry;
    },
    async request(fields: Omit<NewLeaveRequest, 'tenantId' | 'leaveType'> & { leaveType?: string }) {
      return (await withTransaction(pool, (c) => createLeaveRequest(c, { tenantId, leaveType: 'annual', ...fields }))).request;
    },
    decide(requestId: string, decision: LeaveDecision, actorId: string | null, extra: Partial<LeaveDecisionInput> = {}) {
      const input = { tenantId, requestId, decision, actorId, idempotencyKey: `${requestId}:${decision}:${++sequence}`, today: TODAY, ...extra };
      return withTransaction(pool, (c) => decideLeaveRequest(c, input));
    },
    async balance(employeeId: string, leaveType = 'annual', year = YEAR) {
      const found = (await leaveBalances(pool, tenantId, employeeId, year)).find((b) => b.leaveType === leaveType);
      if (!found) throw new Error(`no ${leaveType} balance`);
      return found;
    },
    /** The balance summed straight from the ledger rows, independently of the view. */
    async ledgerSums(employeeId: string, year = YEAR) {
      const { rows } = await pool.query(
        `SELECT kind, sum(days)::float8 AS days, count(*)::int AS n FROM leave_ledger
         WHERE tenant_id = $1 AND employee_id = $2 AND year = $3 GROUP BY kind`,
        [tenantId, employeeId, year],
      );
      const sum = (kind: string) => (rows.find((r) => r.kind === kind)?.days as number | undefined) ?? 0;
      const allocated = sum('allocation');
      const used = sum('usage');
      const reserved = sum('reservation') + sum('reservation_release');
      return { allocated, used, reserved, available: allocated - used - reserved, rows: rows.reduce((n, r) => n + (r.n as number), 0) };
    },
  };
}
