import { PayrollError, PayrollInvariantError } from './errors.js';
import { daysAtDailyRate, proratedGross, salarySegments, type EmploymentInPeriod } from './gross.js';
import { payPeriodOf, workingDaysOfMonth } from './period.js';
import type { PayrollRules } from './rules.js';
import { toSafeNumber } from './rounding.js';
import { monthlyContributions, monthlyTax, type ContributionAmount } from './tax.js';

/**
 * One employee's payroll line for one month, and the run's totals (contract §9). Order:
 *
 *   prorated = Σ salary segments (gross.ts: calendar-day proration, cumulative rounding)
 *   unpaid   = min(prorated, round(annual_last × unpaid_days / (12 × working days)))
 *   payout   = round(annual_last × payout_days / (12 × working days))
 *   gross    = prorated − unpaid + payout
 *   tax      = round(brackets(gross × 12) / 12)                     (tax.ts)
 *   each contribution = min(round(gross × rate / 10,000), cap, what is left)
 *   net      = gross − tax − Σ contributions                         (exact, no rounding)
 *
 * Each `round` is half to even, on that amount alone; sums and differences are exact. The leave
 * payout is taxable pay of the month (it is in the gross the brackets see).
 */
export interface PayrollLineInput {
  /** `YYYY-MM`. */
  period: string;
  employment: EmploymentInPeriod;
  rules: PayrollRules;
  /** ISO dates off work for this employee (the tenant's global holidays and their country's). */
  holidays: ReadonlySet<string>;
  /** Unpaid leave taken in the period, working days in steps of 0.5. */
  unpaidDays?: number | undefined;
  /** Unused paid leave paid out on termination, days in steps of 0.5. */
  leavePayoutDays?: number | undefined;
}

export interface PayrollLine {
  currency: string;
  /** The salary for the days employed in the period, before unpaid leave. */
  proratedGrossMinor: number;
  unpaidDays: number;
  unpaidDeductionMinor: number;
  leavePayoutMinor: number;
  grossMinor: number;
  taxMinor: number;
  contributions: ContributionAmount[];
  contributionsMinor: number;
  netMinor: number;
}

/** The line, or null when the employee has no compensation in effect on a day employed in the period. */
export function payrollLine(input: PayrollLineInput): PayrollLine | null {
  const p = payPeriodOf(input.period);
  const { segments, currency } = salarySegments(p, input.employment);
  const lastSegment = segments.at(-1);
  if (!lastSegment || currency === null) return null;
  if (currency !== input.rules.currency) {
    throw new PayrollError('currency_mismatch', `The salary is in ${currency}, the payroll rules in ${input.rules.currency}.`, 'currency');
  }
  const workingDays = workingDaysOfMonth(p, input.holidays);
  const unpaidDays = input.unpaidDays ?? 0;
  const proratedGrossMinor = proratedGross(segments, p);
  const unpaid = daysAtDailyRate(lastSegment.annualSalaryMinor, unpaidDays, workingDays, 'unpaid_days');
  const unpaidDeductionMinor = Math.min(unpaid, proratedGrossMinor);
  const leavePayoutMinor = daysAtDailyRate(lastSegment.annualSalaryMinor, input.leavePayoutDays ?? 0, workingDays, 'leave_payout_days');
  const grossMinor = toSafeNumber(BigInt(proratedGrossMinor) - BigInt(unpaidDeductionMinor) + BigInt(leavePayoutMinor), 'gross');
  const taxMinor = monthlyTax(grossMinor, input.rules.taxBrackets);
  const contributions = monthlyContributions(grossMinor, taxMinor, input.rules.contributions);
  const contributionsMinor = toSafeNumber(contributions.reduce((sum, c) => sum + BigInt(c.amountMinor), 0n), 'contributions');
  const netMinor = toSafeNumber(BigInt(grossMinor) - BigInt(taxMinor) - BigInt(contributionsMinor), 'net');
  if (netMinor < 0 || taxMinor > grossMinor) throw new PayrollInvariantError(`line of ${input.period}: net ${netMinor} from gross ${grossMinor}`);
  return {
    currency, proratedGrossMinor, unpaidDays, unpaidDeductionMinor, leavePayoutMinor, grossMinor, taxMinor, contributions, contributionsMinor, netMinor,
  };
}

export interface PayrollTotals {
  grossMinor: number;
  taxMinor: number;
  contributionsMinor: number;
  netMinor: number;
}

/** A run's totals: the exact sums of its lines (BigInt inside; each total a safe integer). */
export function payrollTotals(lines: readonly Pick<PayrollLine, keyof PayrollTotals>[]): PayrollTotals {
  const sum = (field: keyof PayrollTotals) => toSafeNumber(lines.reduce((total, l) => total + BigInt(l[field]), 0n), `total ${field}`);
  const totals = { grossMinor: sum('grossMinor'), taxMinor: sum('taxMinor'), contributionsMinor: sum('contributionsMinor'), netMinor: sum('netMinor') };
  if (totals.grossMinor - totals.taxMinor - totals.contributionsMinor !== totals.netMinor) {
    throw new PayrollInvariantError('run totals: gross − tax − contributions ≠ net');
  }
  return totals;
}
