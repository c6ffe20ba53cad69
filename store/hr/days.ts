import { LeaveInvariantError } from '../../domain/hr/errors.js';
import { isHalfDayMultiple } from '../../domain/hr/working-days.js';
import { col, type Column } from '../rows.js';

/** numeric(6,1) arrives from pg as a string ("2.5"): converted once, checked. */
export function toDays(value: unknown): number {
  const days = Number(value);
  if (!isHalfDayMultiple(days)) throw new LeaveInvariantError(`not a day count: ${String(value)}`);
  return days;
}

/** A `numeric(6,1)` day count column (leave requests, the ledger, leave types' limits). */
export function daysColumn(name: string): Column<number> {
  return col.custom(name, toDays);
}

export function daysOrNullColumn(name: string): Column<number | null> {
  return col.custom(name, (value) => (value == null ? null : toDays(value)));
}
