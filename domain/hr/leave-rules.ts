import { LeaveError } from './errors.js';
import { countWorkingDays, isHalfDayMultiple, type WorkingDaysInput } from './working-days.js';

/** What a leave type allows (the `leave_types` row). */
export interface LeaveTypeRules {
  allowHalfDay: boolean;
  /** Working days one request may take at most; null: no limit. */
  maxConsecutiveDays: number | null;
}

const LEAVE_TYPE_CODE = /^[A-Za-z0-9_-]{1,64}$/;

/** A leave type's code, day limit and yearly allowance as the schema holds them. */
export function checkLeaveType(input: { code: string; maxConsecutiveDays: number | null; annualDays?: number | null }): void {
  if (!LEAVE_TYPE_CODE.test(input.code)) {
    throw new LeaveError('parameter_invalid', 'code must be 1 to 64 letters, digits, "_" or "-".', 'code');
  }
  const max = input.maxConsecutiveDays;
  if (max !== null && (!isHalfDayMultiple(max) || max <= 0 || max > 366)) {
    throw new LeaveError('parameter_invalid', 'max_consecutive_days must be a multiple of 0.5 from 0.5 to 366.', 'max_consecutive_days');
  }
  const annual = input.annualDays ?? null;
  if (annual !== null && (!isHalfDayMultiple(annual) || annual <= 0 || annual > 366)) {
    throw new LeaveError('parameter_invalid', 'annual_days must be a multiple of 0.5 from 0.5 to 366.', 'annual_days');
  }
}

/** Leave years as the schema holds them. */
export function checkYear(year: number, param = 'year'): void {
  if (!Number.isInteger(year) || year < 1900 || year > 9999) {
    throw new LeaveError('parameter_invalid', `${param} must be an integer from 1900 to 9999.`, param);
  }
}

/**
 * The days a new request takes and the leave year it is charged to, or `parameter_invalid`.
 * Balances are per calendar year, so a request stays inside one year (a leave over New Year is
 * two requests): charging January's days to December's year would be wrong either way round.
 */
export function leaveDaysFor(input: WorkingDaysInput & { rules: LeaveTypeRules }): { days: number; year: number } {
  if (input.halfDay && !input.rules.allowHalfDay) {
    throw new LeaveError('parameter_invalid', 'This leave type cannot be taken in half days.', 'half_day');
  }
  const days = countWorkingDays(input);
  const year = Number(input.startDate.slice(0, 4));
  if (input.endDate.slice(0, 4) !== input.startDate.slice(0, 4)) {
    throw new LeaveError('parameter_invalid', 'A leave request starts and ends in the same year: split it at New Year.', 'end_date');
  }
  if (days === 0) {
    throw new LeaveError('parameter_invalid', 'The dates contain no working day (weekends and holidays only).', 'start_date');
  }
  const max = input.rules.maxConsecutiveDays;
  if (max !== null && days > max) {
    throw new LeaveError('parameter_invalid', `This leave type allows at most ${max} working days per request; these dates take ${days}.`, 'end_date');
  }
  return { days, year };
}
