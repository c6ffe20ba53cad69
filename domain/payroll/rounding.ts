import { PayrollInvariantError } from './errors.js';

/**
 * Exact integer arithmetic for payroll: products are BigInt (an annual salary of 10^12 times a
 * rate of 10,000 bps passes 2^53), and every division rounds half to even (banker's rounding),
 * once, at the end of a formula — never on an intermediate value.
 */

/** `numerator / denominator` rounded half to even; the denominator is positive. */
export function divHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new PayrollInvariantError(`divHalfEven: denominator ${denominator} is not positive`);
  if (numerator < 0n) return -divHalfEven(-numerator, denominator);
  const quotient = numerator / denominator;
  const twiceRemainder = 2n * (numerator % denominator);
  if (twiceRemainder > denominator) return quotient + 1n;
  if (twiceRemainder < denominator) return quotient;
  return quotient % 2n === 0n ? quotient : quotient + 1n;
}

/** A BigInt result as a number, asserted to be a safe integer (a bug otherwise). */
export function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new PayrollInvariantError(`${what} ${value} is not a safe integer`);
  }
  return Number(value);
}

/** A minor-unit input, asserted to be a non-negative safe integer. */
export function checkMinor(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new PayrollInvariantError(`${what} ${value} is not a non-negative safe integer`);
  return BigInt(value);
}
