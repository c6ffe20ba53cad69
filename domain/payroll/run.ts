import { countWorkingDays, dayNumberOf, isoDateOf, type HalfDay } from '../hr/working-days.js';
import { PayrollError } from './errors.js';
import type { CompensationInEffect } from './gross.js';
import { payrollLine, payrollTotals, type PayrollLine, type PayrollTotals } from './line.js';
import { payPeriodOf, type PayPeriod } from './period.js';
import type { PayrollRules } from './rules.js';

/**
 * A payroll run's calculation (contract §9): one line per employee with a compensation in effect
 * during the period, from what the store read in bulk (store/payroll/run-inputs.ts). Pure: the
 * activity that writes the lines and the tests compute the same lines.
 */

export const RUN_STATUSES = ['calculating', 'awaiting_approval', 'paying', 'paid', 'partially_failed', 'failed', 'cancelled'] as const;
export type PayrollRunStatus = (typeof RUN_STATUSES)[number];
export const LINE_STATUSES = ['pending', 'paid', 'failed'] as const;
export type PayrollLineStatus = (typeof LINE_STATUSES)[number];

/** Why a line could not be paid (it fails alone; `retry-failed` pays it once fixed). */
export const LINE_FAILURE_CODES = ['no_wallet', 'currency_mismatch', 'wallet_missing', 'limit_exceeded'] as const;
export type LineFailureCode = (typeof LINE_FAILURE_CODES)[number];

/** Why a whole run failed (nothing was held, nobody was paid). */
export type RunFailureCode = 'insufficient_funds' | 'payroll_rules_missing' | 'currency_mismatch' | 'parameter_invalid';

export interface EmployeeInPeriod {
  id: string;
  hireDate: string;
  terminationDate: string | null;
  country: string | null;
  compensations: readonly CompensationInEffect[];
}

/** An approved leave of an unpaid type that overlaps the period. */
export interface UnpaidLeave {
  employeeId: string;
  startDate: string;
  endDate: string;
  halfDay: HalfDay | null;
}

export interface RunInputs {
  period: string;
  employees: readonly EmployeeInPeriod[];
  /** Rules by country (ISO alpha-2). */
  rules: ReadonlyMap<string, PayrollRules>;
  /** Holidays of the period: the global ones and each country's. */
  holidays: { global: readonly string[]; byCountry: ReadonlyMap<string, readonly string[]> };
  unpaidLeave: readonly UnpaidLeave[];
  /** Unused paid leave days of employees whose last day is in the period, by employee id. */
  payoutDays: ReadonlyMap<string, number>;
}

export interface RunLine extends PayrollLine {
  employeeId: string;
  /** 1..n in employee id order: the workflow pays lines by ranges of `seq`. */
  seq: number;
  leavePayoutDays: number;
}

export type RunCalculation =
  | { ok: true; lines: RunLine[]; totals: PayrollTotals }
  | { ok: false; code: RunFailureCode; message: string };

/** The lines of a run, or why none can be computed (a rule missing, two currencies in a month). */
export function calculateRun(inputs: RunInputs): RunCalculation {
  const p = payPeriodOf(inputs.period);
  const lines: RunLine[] = [];
  const unpaidByEmployee = groupBy(inputs.unpaidLeave, (l) => l.employeeId);
  const sorted = [...inputs.employees].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const e of sorted) {
    const rules = e.country === null ? undefined : inputs.rules.get(e.country);
    const holidays = new Set([...inputs.holidays.global, ...(e.country === null ? [] : inputs.holidays.byCountry.get(e.country) ?? [])]);
    const employment = { compensations: e.compensations, hireDate: e.hireDate, terminationDate: e.terminationDate };
    if (!rules) {
      if (!hasPayInPeriod(e, p)) continue;
      return { ok: false, code: 'payroll_rules_missing', message: `No payroll rules for ${e.country ?? 'an employee without a country'} (employee ${e.id}).` };
    }
    try {
      const leavePayoutDays = inputs.payoutDays.get(e.id) ?? 0;
      const unpaidDays = unpaidDaysInPeriod(unpaidByEmployee.get(e.id) ?? [], p, holidays);
      const line = payrollLine({ period: inputs.period, employment, rules, holidays, unpaidDays, leavePayoutDays });
      if (line) lines.push({ ...line, employeeId: e.id, seq: lines.length + 1, leavePayoutDays });
    } catch (err) {
      if (err instanceof PayrollError && (err.code === 'currency_mismatch' || err.code === 'parameter_invalid')) {
        return { ok: false, code: err.code, message: `Employee ${e.id}: ${err.message}` };
      }
      throw err;
    }
  }
  return { ok: true, lines, totals: payrollTotals(lines) };
}

/** Whether the employee is employed with a salary on some day of the period (else they have no line). */
function hasPayInPeriod(e: EmployeeInPeriod, p: PayPeriod): boolean {
  const last = Math.min(p.lastDay, e.terminationDate ? dayNumberOf(e.terminationDate) : p.lastDay);
  const first = Math.max(p.firstDay, dayNumberOf(e.hireDate));
  return first <= last && e.compensations.some((c) => dayNumberOf(c.effectiveDate) <= last);
}

/**
 * Working days of unpaid leave inside the period: each leave clipped to the month, counted like a
 * leave request (weekends and the employee's holidays off; a half day 0.5).
 */
export function unpaidDaysInPeriod(leaves: readonly UnpaidLeave[], p: PayPeriod, holidays: ReadonlySet<string>): number {
  let days = 0;
  for (const leave of leaves) {
    const first = Math.max(p.firstDay, dayNumberOf(leave.startDate));
    const last = Math.min(p.lastDay, dayNumberOf(leave.endDate));
    if (first > last) continue;
    const count = countWorkingDays({ startDate: isoDateOf(first), endDate: isoDateOf(last), holidays });
    // A half day is one date (0 or 1 working day: a holiday added since counts nothing).
    days += leave.halfDay && first === last ? count / 2 : count;
  }
  return days;
}

/** The `seq` ranges of `linesCount` lines in batches of `batchSize`: [[1, b], [b + 1, 2b], …]. */
export function batchRanges(linesCount: number, batchSize: number): [number, number][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size ${batchSize}`);
  const ranges: [number, number][] = [];
  for (let first = 1; first <= linesCount; first += batchSize) ranges.push([first, Math.min(linesCount, first + batchSize - 1)]);
  return ranges;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
