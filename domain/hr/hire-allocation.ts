import { isHalfDayMultiple, dayNumberOf } from './working-days.js';

/**
 * Leave allocated on hire (contract §9): each leave type's `annual_days`, pro rata for the rest of
 * the hire year. Pure, so the rule is tested apart from the database.
 *
 * Rounding: annual_days × (calendar days from the hire date to December 31st, both included) /
 * (days in the year), rounded DOWN to a step of 0.5. Down, because an allowance the employee did
 * not earn cannot be taken back once used; a whole-year hire (January 1st) gets exactly annual_days.
 * The arithmetic is on integers (half days), so no float rounding decides a step.
 */

/** Calendar days of a year: 366 in leap years. */
export function daysInYear(year: number): number {
  return dayNumberOf(`${String(year + 1).padStart(4, '0')}-01-01`) - dayNumberOf(`${String(year).padStart(4, '0')}-01-01`);
}

/** The year of the hire date and the days allocated of `annualDays` (0 when less than half a day). */
export function proratedAnnualDays(annualDays: number, hireDate: string): { year: number; days: number } {
  if (!isHalfDayMultiple(annualDays) || annualDays <= 0) throw new RangeError(`annual days must be a positive multiple of 0.5, got ${annualDays}`);
  const hireDay = dayNumberOf(hireDate, 'hire_date');
  const year = Number(hireDate.slice(0, 4));
  const total = daysInYear(year);
  const remaining = dayNumberOf(`${hireDate.slice(0, 4)}-12-31`) - hireDay + 1;
  const halfDays = Math.floor((annualDays * 2 * remaining) / total);
  return { year, days: halfDays / 2 };
}
