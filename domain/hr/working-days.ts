import { LeaveError } from './errors.js';

/**
 * Calendar arithmetic for leave: ISO dates (`YYYY-MM-DD`) on the UTC calendar, a Mon–Fri work
 * week. Pure, so the repository, the workflow and the API count the same way.
 */

export type HalfDay = 'am' | 'pm';

/** Inclusive on both ends; `halfDay` only for a one-day range. */
export interface DateRange {
  startDate: string;
  endDate: string;
  halfDay?: HalfDay | null | undefined;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
const WEEK_DAYS = 7;
const WORK_DAYS_PER_WEEK = 5;

/** Days since 1970-01-01 of an ISO date; anything else (2024-02-30 too) is `parameter_invalid`. */
export function dayNumberOf(date: string, param = 'date'): number {
  const ms = ISO_DATE.test(date) ? Date.parse(`${date}T00:00:00Z`) : NaN;
  // Date.parse rolls 2023-02-29 over to March 1st: a round trip catches it.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new LeaveError('parameter_invalid', `${param} must be a date as YYYY-MM-DD, got ${JSON.stringify(date)}.`, param);
  }
  return ms / DAY_MS;
}

export function isoDateOf(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

/** Today on the UTC calendar, the calendar leave dates are on. */
export function utcToday(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** 1970-01-01 was a Thursday; Saturday and Sunday are days 2 and 3 of that cycle. */
export function isWeekend(dayNumber: number): boolean {
  const sinceThursday = ((dayNumber % WEEK_DAYS) + WEEK_DAYS) % WEEK_DAYS;
  return sinceThursday === 2 || sinceThursday === 3;
}

/** Mon–Fri days in [first, last]: whole weeks by arithmetic, at most six days by hand. */
function weekdaysBetween(first: number, last: number): number {
  const length = last - first + 1;
  const wholeWeeks = Math.floor(length / WEEK_DAYS);
  let count = wholeWeeks * WORK_DAYS_PER_WEEK;
  for (let day = first + wholeWeeks * WEEK_DAYS; day <= last; day++) if (!isWeekend(day)) count++;
  return count;
}

export interface WorkingDaysInput extends DateRange {
  /** ISO dates off work; those on a weekend or outside the range change nothing. */
  holidays: ReadonlySet<string>;
}

/**
 * Working days from `startDate` to `endDate` inclusive: weekends and holidays excluded, a half
 * day counts 0.5. The result is a multiple of 0.5 and never negative.
 */
export function countWorkingDays(input: WorkingDaysInput): number {
  const first = dayNumberOf(input.startDate, 'start_date');
  const last = dayNumberOf(input.endDate, 'end_date');
  if (first > last) throw new LeaveError('parameter_invalid', 'end_date must be on or after start_date.', 'end_date');
  let count = weekdaysBetween(first, last);
  for (const holiday of input.holidays) {
    const day = dayNumberOf(holiday, 'holidays');
    if (day >= first && day <= last && !isWeekend(day)) count--;
  }
  if (!input.halfDay) return count;
  if (first !== last) throw new LeaveError('parameter_invalid', 'A half day starts and ends on the same date.', 'half_day');
  if (count !== 1) throw new LeaveError('parameter_invalid', `${input.startDate} is not a working day.`, 'half_day');
  return 0.5;
}

/** A day count the ledger can hold: a finite multiple of 0.5. */
export function isHalfDayMultiple(days: number): boolean {
  return Number.isFinite(days) && Number.isInteger(days * 2);
}

/**
 * Whether two ranges share any time off. Each range is a run of half-day slots (a morning and
 * an afternoon per date), so a morning and an afternoon off on the same date do not overlap —
 * the same rule as the `leave_period` exclusion constraint in schema/0003_hr.sql.
 */
export function overlaps(a: DateRange, b: DateRange): boolean {
  const [aFrom, aTo] = halfDaySlots(a);
  const [bFrom, bTo] = halfDaySlots(b);
  return aFrom < bTo && bFrom < aTo;
}

/** [from, to) in half days since 1970-01-01. */
function halfDaySlots(range: DateRange): [number, number] {
  const first = dayNumberOf(range.startDate, 'start_date');
  const last = dayNumberOf(range.endDate, 'end_date');
  return [2 * first + (range.halfDay === 'pm' ? 1 : 0), 2 * last + (range.halfDay === 'am' ? 1 : 2)];
}
