import { countWorkingDays, dayNumberOf, isoDateOf } from '../hr/working-days.js';
import { PayrollError } from './errors.js';

/** A pay period: one calendar month on the UTC calendar, written `YYYY-MM`. */
export interface PayPeriod {
  period: string;
  /** Day numbers (days since 1970-01-01, domain/hr/working-days.ts) of the month's first and last day. */
  firstDay: number;
  lastDay: number;
  /** 28..31. */
  calendarDays: number;
}

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** `2026-02` → its days; anything else is `parameter_invalid` (param `period`). */
export function payPeriodOf(period: string): PayPeriod {
  const match = PERIOD.exec(period);
  if (!match) throw new PayrollError('parameter_invalid', `period must be a month as YYYY-MM, got ${JSON.stringify(period)}.`, 'period');
  const year = Number(match[1]);
  const month = Number(match[2]);
  const firstDay = dayNumberOf(`${period}-01`, 'period');
  const nextMonth = month === 12 ? `${year + 1}-01-01` : `${year}-${String(month + 1).padStart(2, '0')}-01`;
  const lastDay = dayNumberOf(nextMonth, 'period') - 1;
  return { period, firstDay, lastDay, calendarDays: lastDay - firstDay + 1 };
}

/**
 * Working days of the whole month: Mon–Fri minus the holidays (the ones that apply to the
 * employee: the tenant's global holidays and their country's). The daily rate's denominator.
 */
export function workingDaysOfMonth(p: PayPeriod, holidays: ReadonlySet<string>): number {
  return countWorkingDays({ startDate: isoDateOf(p.firstDay), endDate: isoDateOf(p.lastDay), holidays });
}
