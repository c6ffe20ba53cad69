import { dayNumberOf, isHalfDayMultiple } from '../hr/working-days.js';
import { PayrollError, PayrollInvariantError } from './errors.js';
import type { PayPeriod } from './period.js';
import { checkMinor, divHalfEven, toSafeNumber } from './rounding.js';

/**
 * The gross side of a payroll line, in integer minor units (contract §9):
 *
 * - full month: annual / 12;
 * - proration by calendar days: the pay for days 1..k of a month of n days is the CUMULATIVE
 *   amount C(k) = round(annual × k / (12 × n)), and the pay for days a..b is C(b) − C(a − 1).
 *   C(0) = 0 and C(n) = round(annual / 12), so the parts of a month split at any day sum to the
 *   full month exactly (each part rounds nothing of its own: only the cumulative amounts round);
 * - a salary change inside the month: each compensation pays its own days, by the same rule;
 * - unpaid leave: round(annual × unpaid_days / (12 × working_days_of_month)), at the salary in
 *   effect on the last paid day of the period, never more than the prorated pay;
 * - leave payout: days × daily rate, daily rate = monthly gross / working days of the month,
 *   computed as one division: round(annual × days / (12 × working_days_of_month)).
 *
 * Every division rounds half to even, once per amount (rounding.ts).
 */

const MONTHS = 12n;

/** A compensation as the arithmetic sees it (store/payroll/compensations.ts reads them). */
export interface CompensationInEffect {
  effectiveDate: string;
  annualSalaryMinor: number;
  currency: string;
}

/** Days of a period paid at one annual salary: day numbers, inclusive on both ends. */
export interface SalarySegment {
  annualSalaryMinor: number;
  firstDay: number;
  lastDay: number;
}

/** Pay for the first `days` days of the month: round(annual × days / (12 × calendar days)). */
export function cumulativeGross(annualSalaryMinor: number, days: number, p: PayPeriod): bigint {
  if (!Number.isInteger(days) || days < 0 || days > p.calendarDays) throw new PayrollInvariantError(`day ${days} is outside ${p.period}`);
  return divHalfEven(checkMinor(annualSalaryMinor, 'annual salary') * BigInt(days), MONTHS * BigInt(p.calendarDays));
}

/** The full month's gross at an annual salary: annual / 12, half to even. */
export function monthlyGross(annualSalaryMinor: number): number {
  return toSafeNumber(divHalfEven(checkMinor(annualSalaryMinor, 'annual salary'), MONTHS), 'monthly gross');
}

/** Pay for the days of one segment: C(last) − C(first − 1), with days counted from the month's start. */
export function segmentGross(segment: SalarySegment, p: PayPeriod): bigint {
  if (segment.firstDay < p.firstDay || segment.lastDay > p.lastDay || segment.firstDay > segment.lastDay) {
    throw new PayrollInvariantError(`segment ${segment.firstDay}..${segment.lastDay} is outside ${p.period}`);
  }
  const upToLast = cumulativeGross(segment.annualSalaryMinor, segment.lastDay - p.firstDay + 1, p);
  const beforeFirst = cumulativeGross(segment.annualSalaryMinor, segment.firstDay - p.firstDay, p);
  return upToLast - beforeFirst;
}

/** The prorated gross of a period: the sum of its segments' pay. */
export function proratedGross(segments: readonly SalarySegment[], p: PayPeriod): number {
  const total = segments.reduce((sum, s) => sum + segmentGross(s, p), 0n);
  return toSafeNumber(total, 'prorated gross');
}

export interface EmploymentInPeriod {
  /** Every compensation of the employee (any order); those that end before the period change nothing. */
  compensations: readonly CompensationInEffect[];
  hireDate: string;
  /** The last day employed, inclusive; null while employed. */
  terminationDate?: string | null | undefined;
}

/**
 * The days of the period each salary pays: from max(effective date, hire date, first of month)
 * to the day before the next compensation's effective date, the termination date or the end of
 * the month, whichever comes first. Empty when the employee is not employed with a salary in the
 * period. One currency per period: compensations of two currencies in it are `currency_mismatch`.
 */
export function salarySegments(p: PayPeriod, e: EmploymentInPeriod): { segments: SalarySegment[]; currency: string | null } {
  const start = Math.max(p.firstDay, dayNumberOf(e.hireDate, 'hire_date'));
  const end = Math.min(p.lastDay, e.terminationDate ? dayNumberOf(e.terminationDate, 'termination_date') : p.lastDay);
  const sorted = e.compensations
    .map((c) => ({ ...c, day: dayNumberOf(c.effectiveDate, 'effective_date') }))
    .sort((a, b) => a.day - b.day);
  const segments: SalarySegment[] = [];
  let currency: string | null = null;
  sorted.forEach((c, i) => {
    const next = sorted[i + 1];
    const firstDay = Math.max(start, c.day);
    const lastDay = Math.min(end, next ? next.day - 1 : end);
    if (firstDay > lastDay) return;
    if (currency !== null && currency !== c.currency) {
      throw new PayrollError('currency_mismatch', `The salary changes currency within ${p.period} (${currency}, ${c.currency}).`, 'currency');
    }
    currency = c.currency;
    segments.push({ annualSalaryMinor: c.annualSalaryMinor, firstDay, lastDay });
  });
  return { segments, currency };
}

/** Days × (annual / 12 / working days of the month), as one half-even division. Days in steps of 0.5. */
export function daysAtDailyRate(annualSalaryMinor: number, days: number, workingDaysOfMonth: number, param: string): number {
  if (!isHalfDayMultiple(days) || days < 0) throw new PayrollError('parameter_invalid', `${param} must be a non-negative multiple of 0.5.`, param);
  if (days === 0) return 0;
  if (!Number.isInteger(workingDaysOfMonth) || workingDaysOfMonth < 1) {
    throw new PayrollError('parameter_invalid', 'The month has no working day: no daily rate.', param);
  }
  // Half days as integers: annual × (2 × days) / (12 × 2 × working days).
  const amount = divHalfEven(
    checkMinor(annualSalaryMinor, 'annual salary') * BigInt(days * 2),
    MONTHS * 2n * BigInt(workingDaysOfMonth),
  );
  return toSafeNumber(amount, param);
}
