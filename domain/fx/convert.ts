import { currencyExponent } from '../money.js';

/**
 * Currency conversion, exact (issue #18 item 4, contract §2 "Currency conversion"). A rate is a
 * decimal string (units of the target currency per 1 unit of the source, as the FX provider
 * gives it); every step is integer arithmetic on its digits (BigInt), never a float:
 *
 *   quoted rate      = provider rate × (10000 − spread_bps) / 10000   (exact: 4 more decimals)
 *   converted_amount = ⌊ amount × 10^−e(from) × rate × 10^e(to) ⌋      (in the target's minor unit)
 *
 * so the house never gives more than the quoted rate says, and the client can redo the sum.
 */

/** A decimal as an integer and a scale: `units / 10^scale` ("151.37" → 15137n, 2). */
export interface Decimal {
  units: bigint;
  scale: number;
}

export const BPS_PER_UNIT = 10_000;
/** A spread of at most 10 %: more is a configuration typo, not a price. */
export const SPREAD_BPS_MAX = 1_000;
const DECIMAL = /^(0|[1-9]\d*)(\.\d+)?$/;
const DECIMAL_DIGITS_MAX = 40;

export function parseDecimal(text: string): Decimal {
  if (text.length > DECIMAL_DIGITS_MAX || !DECIMAL.test(text)) throw new RangeError(`not a plain decimal: ${JSON.stringify(text)}`);
  const [whole, fraction = ''] = text.split('.') as [string, string?];
  return { units: BigInt(whole + fraction), scale: fraction.length };
}

/** The shortest plain decimal string of `units / 10^scale` (trailing zeros dropped: "150.6131500" → "150.61315"). */
export function formatDecimal({ units, scale }: Decimal): string {
  if (units < 0n) throw new RangeError('a rate is never negative');
  const digits = units.toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

/** The provider's rate less the house's spread, exactly: never above the provider's rate. */
export function applySpread(providerRate: string, spreadBps: number): string {
  if (!Number.isInteger(spreadBps) || spreadBps < 0 || spreadBps > SPREAD_BPS_MAX) {
    throw new RangeError(`spread must be an integer from 0 to ${SPREAD_BPS_MAX} bps, got ${spreadBps}`);
  }
  const rate = parseDecimal(providerRate);
  return formatDecimal({ units: rate.units * BigInt(BPS_PER_UNIT - spreadBps), scale: rate.scale + 4 });
}

/**
 * `amountMinor` of `fromCurrency` at `rate`, in `toCurrency`'s minor unit, rounded DOWN (towards
 * zero: amounts are positive). The exponents may differ (JPY 0, USD 2, BHD 3). A bigint: a large
 * amount at a large rate may exceed what a caller accepts; the caller checks the range.
 */
export function convertMinor(amountMinor: number, fromCurrency: string, toCurrency: string, rate: string): bigint {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) throw new RangeError(`amount must be a non-negative safe integer, got ${amountMinor}`);
  const r = parseDecimal(rate);
  const numerator = BigInt(amountMinor) * r.units * 10n ** BigInt(currencyExponent(toCurrency));
  const denominator = 10n ** BigInt(r.scale + currencyExponent(fromCurrency));
  return numerator / denominator; // BigInt division truncates: the floor of a non-negative quotient
}

export interface Conversion {
  /** The quoted rate (the provider's less the spread), a decimal string. */
  rate: string;
  convertedMinor: bigint;
}

/** What a quote offers: the provider's rate less `spreadBps`, and the amount it converts to. */
export function quoteConversion(input: {
  amountMinor: number; fromCurrency: string; toCurrency: string; providerRate: string; spreadBps: number;
}): Conversion {
  const rate = applySpread(input.providerRate, input.spreadBps);
  return { rate, convertedMinor: convertMinor(input.amountMinor, input.fromCurrency, input.toCurrency, rate) };
}
