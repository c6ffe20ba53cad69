import type { Contribution, TaxBracket } from './rules.js';
import { checkMinor, divHalfEven, toSafeNumber } from './rounding.js';

const MONTHS = 12n;
const BPS = 10_000n;

/**
 * The annual brackets' tax on an annual amount, exact, in minor units × basis points:
 * Σ (min(annual, up_to) − previous up_to) × rate_bps over the brackets the amount reaches.
 */
export function annualTaxBps(annualMinor: bigint, brackets: readonly TaxBracket[]): bigint {
  let total = 0n;
  let floor = 0n;
  for (const b of brackets) {
    if (annualMinor <= floor) break;
    const top = b.upToMinor === null ? annualMinor : BigInt(b.upToMinor);
    const slice = (annualMinor < top ? annualMinor : top) - floor;
    total += slice * BigInt(b.rateBps);
    floor = top;
  }
  return total;
}

/**
 * A month's tax (contract §9): the annual brackets applied to gross × 12, divided by 12 — one
 * half-even rounding of Σ slice × rate / (10,000 × 12). Monotone in the gross (every slice grows
 * with it, rates are ≥ 0, and rounding by a fixed divisor keeps order), and at most the gross
 * when every rate is at most 10,000 bps.
 */
export function monthlyTax(grossMinor: number, brackets: readonly TaxBracket[]): number {
  const annual = checkMinor(grossMinor, 'gross') * MONTHS;
  return toSafeNumber(divHalfEven(annualTaxBps(annual, brackets), BPS * MONTHS), 'tax');
}

export interface ContributionAmount {
  code: string;
  amountMinor: number;
}

/**
 * Contributions on the month's gross: each round(gross × rate_bps / 10,000) half to even, then
 * its monthly cap, then at most what the gross has left after the tax and the contributions
 * before it (in the rules' order) — so the net is never negative, whatever the rounding.
 */
export function monthlyContributions(grossMinor: number, taxMinor: number, contributions: readonly Contribution[]): ContributionAmount[] {
  const gross = checkMinor(grossMinor, 'gross');
  let left = gross - checkMinor(taxMinor, 'tax');
  return contributions.map((c) => {
    let amount = divHalfEven(gross * BigInt(c.rateBps), BPS);
    if (c.capMinor !== null && amount > BigInt(c.capMinor)) amount = BigInt(c.capMinor);
    if (amount > left) amount = left < 0n ? 0n : left;
    left -= amount;
    return { code: c.code, amountMinor: toSafeNumber(amount, `contribution ${c.code}`) };
  });
}
