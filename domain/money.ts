import currencyCodes from 'currency-codes';

/** ISO 4217 metals, testing and accounting units: they have no minor unit, so no money here. */
const NON_MONEY = new Set(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX']);

const EXPONENTS: ReadonlyMap<string, number> = new Map(
  currencyCodes.data
    .filter((c) => !NON_MONEY.has(c.code) && Number.isInteger(c.digits))
    .map((c) => [c.code, c.digits]),
);

export const AMOUNT_MIN = 1;
export const AMOUNT_MAX = 1_000_000_000_000;

export function isCurrency(code: string): boolean {
  return EXPONENTS.has(code);
}

/** Minor-unit exponent of a currency (JPY 0, USD 2, BHD 3). */
export function currencyExponent(code: string): number {
  const exponent = EXPONENTS.get(code);
  if (exponent === undefined) throw new Error(`Unknown currency ${code}`);
  return exponent;
}

export interface Money {
  amountMinor: number;
  currency: string;
}

/** A minor-unit amount as a decimal string in the major unit, exact (1050 USD → "10.50", 500 JPY → "500"). */
export function formatMinor(amountMinor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === 0) return String(amountMinor);
  const digits = String(Math.abs(amountMinor)).padStart(exponent + 1, '0');
  const sign = amountMinor < 0 ? '-' : '';
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
