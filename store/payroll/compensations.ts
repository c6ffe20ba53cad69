import { PayrollError } from '../../domain/payroll/errors.js';
import { dayNumberOf } from '../../domain/hr/working-days.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, pgErrorOf, rowMapper } from '../rows.js';

/**
 * The `compensations` table: an employee's salaries, effective-dated. The compensation in effect
 * on a day is the one with the latest effective date on or before it; rows are never changed (a
 * correction is a new effective date, or the same date refused as `resource_exists`).
 */

export interface Compensation {
  id: string;
  tenantId: string;
  employeeId: string;
  effectiveDate: string;
  annualSalaryMinor: number;
  currency: string;
  createdAt: Date;
}

const compensation = rowMapper<Compensation>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  employeeId: col.text('employee_id'),
  effectiveDate: col.date('effective_date'),
  annualSalaryMinor: col.int('annual_salary'),
  currency: col.text('currency'),
  createdAt: col.timestamp('created_at'),
});

/** The most compensations one period can overlap that compensationsOverlapping reads (a bug beyond). */
export const OVERLAPPING_MAX = 100;

export type NewCompensation = Omit<Compensation, 'id' | 'createdAt'>;

/** Unknown employee (or another tenant's): `resource_missing`; the same effective date twice: `resource_exists`. */
export async function insertCompensation(db: Db, input: NewCompensation): Promise<Compensation> {
  dayNumberOf(input.effectiveDate, 'effective_date');
  try {
    const { rows } = await db.query(
      `INSERT INTO compensations (id, tenant_id, employee_id, effective_date, annual_salary, currency)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${compensation.columns()}`,
      [newId('compensation'), input.tenantId, input.employeeId, input.effectiveDate, input.annualSalaryMinor, input.currency],
    );
    return compensation.map(rows[0]);
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23505' && constraint === 'compensations_effective_unique') {
      throw new PayrollError('resource_exists', `The employee has a compensation effective ${input.effectiveDate} already.`, 'effective_date');
    }
    if (code === '23503' && constraint === 'compensations_employee') throw new PayrollError('resource_missing', 'No such employee.', 'id');
    throw err;
  }
}

/**
 * An employee's history, newest effective date first (then newest created), as the contract's
 * list; `startingAfter` is the last id of the previous page.
 */
export async function listCompensations(db: Db, tenantId: string, employeeId: string, page: PageQuery): Promise<ListPage<Compensation>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${compensation.columns('c')} FROM compensations c
     WHERE c.tenant_id = $1 AND c.employee_id = $2
       AND ($3::text IS NULL OR c.effective_date < (SELECT effective_date FROM compensations WHERE tenant_id = $1 AND employee_id = $2 AND id = $3))
     ORDER BY c.effective_date DESC LIMIT $4`,
    [tenantId, employeeId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, compensation.map);
}

/** The compensation in effect on `date` (the latest effective on or before it), or null. */
export async function compensationOn(db: Db, tenantId: string, employeeId: string, date: string): Promise<Compensation | null> {
  const { rows } = await db.query(
    `SELECT ${compensation.columns()} FROM compensations
     WHERE tenant_id = $1 AND employee_id = $2 AND effective_date <= $3
     ORDER BY effective_date DESC LIMIT 1`,
    [tenantId, employeeId, date],
  );
  return rows[0] ? compensation.map(rows[0]) : null;
}

/**
 * Every compensation in effect on some day of [firstDate, lastDate]: the one in effect on the
 * first day, and those that start inside the range — what domain/payroll/gross.ts
 * `salarySegments` needs to prorate a salary change inside a month. Oldest first.
 */
export async function compensationsOverlapping(
  db: Db, tenantId: string, employeeId: string, range: { firstDate: string; lastDate: string },
): Promise<Compensation[]> {
  const { rows } = await db.query(
    `SELECT ${compensation.columns()} FROM compensations
     WHERE tenant_id = $1 AND employee_id = $2 AND effective_date <= $4
       AND effective_date >= coalesce(
         (SELECT max(effective_date) FROM compensations WHERE tenant_id = $1 AND employee_id = $2 AND effective_date <= $3), $3)
     ORDER BY effective_date LIMIT $5`,
    [tenantId, employeeId, range.firstDate, range.lastDate, OVERLAPPING_MAX + 1],
  );
  if (rows.length > OVERLAPPING_MAX) throw new Error(`more than ${OVERLAPPING_MAX} compensations overlap ${range.firstDate}..${range.lastDate}`);
  return rows.map(compensation.map);
}
