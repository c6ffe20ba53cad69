import { LeaveError } from './errors.js';
import { dayNumberOf } from './working-days.js';

/**
 * Rules of a termination (`POST /v1/employees/:id/terminate`, contract §9) that need no database.
 * The date is the last day employed and paid, inclusive; the offboarding acts at its start (00:00 UTC).
 */

/** How far ahead a termination may be scheduled (notice periods are months, not years): a bound on the run's timer. */
export const TERMINATION_AHEAD_MAX_DAYS = 3 * 366;

/** A real date, not before the hire date, at most TERMINATION_AHEAD_MAX_DAYS after `today`; else `parameter_invalid`. */
export function checkTerminationDate(terminationDate: string, hireDate: string, today: string): void {
  const day = dayNumberOf(terminationDate, 'termination_date');
  if (day < dayNumberOf(hireDate, 'hire_date')) {
    throw new LeaveError('parameter_invalid', `termination_date must not be before the hire date (${hireDate}).`, 'termination_date');
  }
  if (day - dayNumberOf(today, 'today') > TERMINATION_AHEAD_MAX_DAYS) {
    throw new LeaveError('parameter_invalid', `termination_date must be at most ${TERMINATION_AHEAD_MAX_DAYS} days ahead.`, 'termination_date');
  }
}

/**
 * Leave and management need an employee: a terminated one, or days after a scheduled last day, are
 * refused (`parameter_invalid` on `param`).
 */
export function checkEmployed(
  employee: { id: string; status: 'active' | 'terminated'; terminationDate: string | null }, param: string, throughDate?: string,
): void {
  if (employee.status === 'terminated') throw new LeaveError('parameter_invalid', `Employee ${employee.id} is terminated.`, param);
  if (throughDate && employee.terminationDate && dayNumberOf(throughDate, param) > dayNumberOf(employee.terminationDate, 'termination_date')) {
    throw new LeaveError('parameter_invalid', `Employee ${employee.id}'s last day is ${employee.terminationDate}.`, param);
  }
}
