import type { HalfDay } from '../../domain/hr/working-days.js';
import { payPeriodOf } from '../../domain/payroll/period.js';
import type { EmployeeInPeriod, RunInputs, UnpaidLeave } from '../../domain/payroll/run.js';
import { isoDateOf } from '../../domain/hr/working-days.js';
import type { Db } from '../db.js';
import { toDays } from '../hr/days.js';
import { toSafeInt } from '../db.js';
import { findAllPayrollRules } from './rules.js';

/**
 * What a payroll run's calculation reads (domain/payroll/run.ts calculateRun), in a handful of
 * set-based statements whatever the number of employees (10,000 is the design's scale): the
 * employees employed in the period with their compensations in effect, the rules, the holidays,
 * approved unpaid leave, and unused paid leave of those whose last day is in the period.
 */
export async function readRunInputs(db: Db, tenantId: string, period: string): Promise<RunInputs> {
  const p = payPeriodOf(period);
  const range = [tenantId, isoDateOf(p.firstDay), isoDateOf(p.lastDay)];
  const [employees, compensations, rules, holidays, unpaidLeave, payoutDays] = await Promise.all([
    db.query(
      `SELECT id, to_char(hire_date, 'YYYY-MM-DD') AS hire_date, to_char(termination_date, 'YYYY-MM-DD') AS termination_date, country
       FROM employees WHERE tenant_id = $1 AND hire_date <= $3 AND (termination_date IS NULL OR termination_date >= $2)`,
      range,
    ),
    // Per employee: the compensation in effect on the first day and those starting inside the period.
    db.query(
      `SELECT c.employee_id, to_char(c.effective_date, 'YYYY-MM-DD') AS effective_date, c.annual_salary, c.currency
       FROM compensations c
       WHERE c.tenant_id = $1 AND c.effective_date <= $3
         AND c.effective_date >= coalesce((SELECT max(c2.effective_date) FROM compensations c2
                                           WHERE c2.tenant_id = $1 AND c2.employee_id = c.employee_id AND c2.effective_date <= $2), $2)`,
      range,
    ),
    findAllPayrollRules(db, tenantId),
    db.query(`SELECT to_char(date, 'YYYY-MM-DD') AS date, country FROM holidays WHERE tenant_id = $1 AND date BETWEEN $2 AND $3`, range),
    db.query(
      `SELECT r.employee_id, to_char(r.start_date, 'YYYY-MM-DD') AS start_date, to_char(r.end_date, 'YYYY-MM-DD') AS end_date, r.half_day
       FROM leave_requests r JOIN leave_types t ON t.tenant_id = r.tenant_id AND t.code = r.leave_type
       WHERE r.tenant_id = $1 AND t.unpaid AND r.status = 'approved' AND r.start_date <= $3 AND r.end_date >= $2`,
      range,
    ),
    // Unused paid leave of the termination year, never below zero per type.
    db.query(
      `SELECT b.employee_id, sum(greatest(b.available, 0)) AS days
       FROM employees e
       JOIN leave_balances b ON b.tenant_id = e.tenant_id AND b.employee_id = e.id AND b.year = extract(year FROM e.termination_date)::int
       JOIN leave_types t ON t.tenant_id = b.tenant_id AND t.code = b.leave_type AND NOT t.unpaid
       WHERE e.tenant_id = $1 AND e.termination_date BETWEEN $2 AND $3
       GROUP BY b.employee_id`,
      range,
    ),
  ]);
  const byEmployee = new Map<string, EmployeeInPeriod['compensations'][number][]>();
  for (const c of compensations.rows) {
    const list = byEmployee.get(c.employee_id as string) ?? [];
    list.push({ effectiveDate: c.effective_date as string, annualSalaryMinor: toSafeInt(c.annual_salary as string), currency: c.currency as string });
    byEmployee.set(c.employee_id as string, list);
  }
  const byCountry = new Map<string, string[]>();
  const global: string[] = [];
  for (const h of holidays.rows) {
    if (h.country === null) global.push(h.date as string);
    else byCountry.set(h.country as string, [...(byCountry.get(h.country as string) ?? []), h.date as string]);
  }
  return {
    period,
    employees: employees.rows.map((e) => ({
      id: e.id as string, hireDate: e.hire_date as string, terminationDate: (e.termination_date as string | null) ?? null,
      country: (e.country as string | null) ?? null, compensations: byEmployee.get(e.id as string) ?? [],
    })),
    rules: new Map(rules.map((r) => [r.country, r])),
    holidays: { global, byCountry },
    unpaidLeave: unpaidLeave.rows.map((r): UnpaidLeave => ({
      employeeId: r.employee_id as string, startDate: r.start_date as string, endDate: r.end_date as string, halfDay: (r.half_day as HalfDay | null) ?? null,
    })),
    payoutDays: new Map(payoutDays.rows.map((r) => [r.employee_id as string, toDays(r.days)])),
  };
}
