import { LeaveError, LeaveInvariantError } from './errors.js';
import { checkYear } from './leave-rules.js';
import type { LeaveBalance, LeaveLedgerEntry, NewLedgerRow } from './types.js';
import { isHalfDayMultiple } from './working-days.js';

/**
 * Rules of the leave ledger that need no database: what an allocation may add, and the shape
 * every balance (a sum of ledger rows) must have.
 */

/** More than a year of working days in one allocation is a typo, not a policy. */
export const ALLOCATION_DAYS_MAX = 366;

export function checkAllocation(input: { days: number; year: number }): void {
  if (!isHalfDayMultiple(input.days) || input.days <= 0 || input.days > ALLOCATION_DAYS_MAX) {
    throw new LeaveError('parameter_invalid', `days must be a multiple of 0.5 from 0.5 to ${ALLOCATION_DAYS_MAX}.`, 'days');
  }
  checkYear(input.year);
}

/**
 * A replayed allocation key must have written the same allocation (`entry`: the row found
 * under the key); anything else means the key was reused for another write, a caller's bug.
 */
export function sameAllocation(entry: LeaveLedgerEntry | null, row: NewLedgerRow): LeaveLedgerEntry {
  const same = entry && entry.kind === 'allocation' && entry.employeeId === row.employeeId
    && entry.leaveType === row.leaveType && entry.year === row.year && entry.days === row.days;
  if (!same) throw new LeaveInvariantError(`leave ledger key ${row.idempotencyKey} was used for another write`);
  return entry;
}

/** Reservations and usage are never negative: every release and return follows its reservation or use. */
export function checkedBalance(balance: LeaveBalance): LeaveBalance {
  const { allocatedDays, usedDays, reservedDays, availableDays: available } = balance;
  if (reservedDays < 0 || usedDays < 0 || available !== allocatedDays - usedDays - reservedDays) {
    throw new LeaveInvariantError(`leave balance out of shape: ${JSON.stringify(balance)}`);
  }
  return balance;
}
