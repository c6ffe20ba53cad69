import { PayrollError } from './errors.js';

/**
 * A country's payroll rules (contract §9): annual progressive tax brackets in minor units, and
 * contributions on the monthly gross, each capped per month. Rates in basis points (1 bps = 0.01 %).
 */
export interface TaxBracket {
  /** The bracket's upper bound of ANNUAL taxable pay, inclusive, in minor units; null: no bound (the last). */
  upToMinor: number | null;
  rateBps: number;
}

export interface Contribution {
  code: string;
  rateBps: number;
  /** The most it takes in one month, in minor units; null: no cap. */
  capMinor: number | null;
}

export interface PayrollRules {
  currency: string;
  taxBrackets: readonly TaxBracket[];
  contributions: readonly Contribution[];
}

export const RATE_BPS_MAX = 10_000;
export const BRACKETS_MAX = 50;
export const CONTRIBUTIONS_MAX = 50;

const invalid = (param: string, message: string) => new PayrollError('parameter_invalid', message, param);
const isRate = (bps: number) => Number.isInteger(bps) && bps >= 0 && bps <= RATE_BPS_MAX;

/**
 * Refuses rules the arithmetic cannot honour (`parameter_invalid`, param the field at fault):
 * brackets with strictly ascending positive bounds, the last one (only) unbounded; rates
 * 0..10,000 bps; unique contribution codes; caps positive safe integers; and the top tax rate plus
 * all contribution rates at most 100 %, so deductions never exceed the gross.
 */
export function checkPayrollRules(rules: PayrollRules): void {
  const { taxBrackets: brackets, contributions } = rules;
  if (brackets.length < 1 || brackets.length > BRACKETS_MAX) throw invalid('tax_brackets', `tax_brackets must hold 1 to ${BRACKETS_MAX} brackets.`);
  let previous = 0;
  brackets.forEach((b, i) => {
    const last = i === brackets.length - 1;
    if (!isRate(b.rateBps)) throw invalid('tax_brackets', `tax_brackets[${i}].rate_bps must be an integer from 0 to ${RATE_BPS_MAX}.`);
    if (last !== (b.upToMinor === null)) throw invalid('tax_brackets', 'Only the last bracket has up_to null, and it must.');
    if (b.upToMinor !== null) {
      if (!Number.isSafeInteger(b.upToMinor) || b.upToMinor <= previous) {
        throw invalid('tax_brackets', `tax_brackets[${i}].up_to must be an integer above the previous bracket's (${previous}).`);
      }
      previous = b.upToMinor;
    }
  });
  if (contributions.length > CONTRIBUTIONS_MAX) throw invalid('contributions', `At most ${CONTRIBUTIONS_MAX} contributions.`);
  const codes = new Set<string>();
  contributions.forEach((c, i) => {
    if (codes.has(c.code)) throw invalid('contributions', `contributions[${i}].code ${JSON.stringify(c.code)} appears twice.`);
    codes.add(c.code);
    if (!isRate(c.rateBps)) throw invalid('contributions', `contributions[${i}].rate_bps must be an integer from 0 to ${RATE_BPS_MAX}.`);
    if (c.capMinor !== null && (!Number.isSafeInteger(c.capMinor) || c.capMinor < 1)) {
      throw invalid('contributions', `contributions[${i}].cap must be a positive integer in minor units.`);
    }
  });
  const topRate = Math.max(...brackets.map((b) => b.rateBps));
  const total = topRate + contributions.reduce((sum, c) => sum + c.rateBps, 0);
  if (total > RATE_BPS_MAX) {
    throw invalid('contributions', `The top tax rate plus all contribution rates is ${total} bps: at most ${RATE_BPS_MAX} (100 %).`);
  }
}
