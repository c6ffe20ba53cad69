import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { currencyExponent } from '../money.js';
import { applySpread, convertMinor, formatDecimal, parseDecimal, quoteConversion, SPREAD_BPS_MAX } from './convert.js';

const CURRENCIES = ['USD', 'EUR', 'JPY', 'BHD', 'KWD', 'GBP', 'CLF'] as const; // exponents 2, 2, 0, 3, 3, 2, 4
const currency = fc.constantFrom(...CURRENCIES);
const amount = fc.integer({ min: 1, max: 1_000_000_000_000 });
/** A positive rate as the provider writes it: up to 12 digits on each side. */
const rate = fc.tuple(fc.bigInt({ min: 1n, max: 10n ** 24n - 1n }), fc.integer({ min: 0, max: 12 }))
  .map(([units, scale]) => formatDecimal({ units, scale }));
const spread = fc.integer({ min: 0, max: SPREAD_BPS_MAX });

/** amount × rate × 10^e(to) / 10^e(from) as an exact fraction (numerator, denominator). */
function exact(amountMinor: number, from: string, to: string, r: string): [bigint, bigint] {
  const d = parseDecimal(r);
  return [BigInt(amountMinor) * d.units * 10n ** BigInt(currencyExponent(to)), 10n ** BigInt(d.scale + currencyExponent(from))];
}

/** a/b <= c/d for positive denominators. */
const atMost = ([a, b]: [bigint, bigint], [c, d]: [bigint, bigint]) => a * d <= c * b;

describe('currency conversion (worked examples)', () => {
  it('USD → JPY: $10.50 at 151.37 less 50 bps = 150.61315 → ¥1,581 (1,581.438075 rounded down)', () => {
    expect(quoteConversion({ amountMinor: 1_050, fromCurrency: 'USD', toCurrency: 'JPY', providerRate: '151.37', spreadBps: 50 }))
      .toEqual({ rate: '150.61315', convertedMinor: 1_581n });
  });

  it('JPY → USD: ¥500 at 0.006606 less 50 bps = 0.00657297 → 328 cents (328.6485 rounded down)', () => {
    expect(quoteConversion({ amountMinor: 500, fromCurrency: 'JPY', toCurrency: 'USD', providerRate: '0.006606', spreadBps: 50 }))
      .toEqual({ rate: '0.00657297', convertedMinor: 328n });
  });

  it('USD → BHD (3 decimals): $10.50 at 0.376 less 50 bps = 0.37412 → 3.928 BHD (3,928.26 fils rounded down)', () => {
    expect(quoteConversion({ amountMinor: 1_050, fromCurrency: 'USD', toCurrency: 'BHD', providerRate: '0.376', spreadBps: 50 }))
      .toEqual({ rate: '0.37412', convertedMinor: 3_928n });
  });

  it('BHD → JPY: 1 fil is ¥0.4 → 0 (the API refuses such a quote); 1 BHD → ¥402', () => {
    expect(convertMinor(1, 'BHD', 'JPY', '402.5')).toBe(0n);
    expect(convertMinor(1_000, 'BHD', 'JPY', '402.5')).toBe(402n);
  });

  it('no spread keeps the provider rate; a whole rate stays whole', () => {
    expect(applySpread('151.37', 0)).toBe('151.37');
    expect(applySpread('2', 50)).toBe('1.99');
    expect(applySpread('0.000000000001', 1_000)).toBe('0.0000000000009');
  });

  it('refuses a spread out of range and a rate that is no plain decimal', () => {
    expect(() => applySpread('1.1', -1)).toThrow(RangeError);
    expect(() => applySpread('1.1', SPREAD_BPS_MAX + 1)).toThrow(RangeError);
    expect(() => applySpread('1.1', 0.5)).toThrow(RangeError);
    for (const bad of ['1e3', '-1', '.5', '1.', '01.5', ' 1', 'NaN', '']) expect(() => parseDecimal(bad)).toThrow(RangeError);
  });

  it('is exact far beyond float precision', () => {
    // 1e12 minor units at a rate with 24 significant digits: a float would lose the last digits.
    expect(convertMinor(1_000_000_000_000, 'USD', 'USD', '123456789012.345678901234')).toBe(123_456_789_012_345_678_901_234n);
  });
});

describe('currency conversion (properties)', () => {
  it('never rounds up, and is off by less than one minor unit', () => {
    fc.assert(fc.property(amount, currency, currency, rate, (a, from, to, r) => {
      const converted = convertMinor(a, from, to, r);
      const value = exact(a, from, to, r);
      expect(atMost([converted, 1n], value)).toBe(true);
      expect(atMost(value, [converted + 1n, 1n]) && !atMost([converted + 1n, 1n], value)).toBe(true);
    }));
  });

  it('is monotone in the amount', () => {
    fc.assert(fc.property(amount, amount, currency, currency, rate, (a, b, from, to, r) => {
      const [low, high] = a <= b ? [a, b] : [b, a];
      expect(convertMinor(low, from, to, r) <= convertMinor(high, from, to, r)).toBe(true);
    }));
  });

  it('the spread is always in the house’s favour: the quoted rate and amount never exceed the provider’s', () => {
    fc.assert(fc.property(amount, currency, currency, rate, spread, (a, from, to, r, bps) => {
      const quoted = applySpread(r, bps);
      const [q, p] = [parseDecimal(quoted), parseDecimal(r)];
      const quotedVsProvider = q.units * 10n ** BigInt(p.scale) - p.units * 10n ** BigInt(q.scale);
      if (bps === 0) expect(quotedVsProvider).toBe(0n);
      else expect(quotedVsProvider < 0n).toBe(true);
      expect(convertMinor(a, from, to, quoted) <= convertMinor(a, from, to, r)).toBe(true);
      // …and exactly the spread: quoted / provider = (10000 − bps) / 10000.
      expect(q.units * 10n ** BigInt(p.scale) * 10_000n).toBe(p.units * 10n ** BigInt(q.scale) * BigInt(10_000 - bps));
    }));
  });

  it('handles the exponents: at rate 1 an amount moves only by the difference of the minor units', () => {
    fc.assert(fc.property(amount, currency, currency, (a, from, to) => {
      const shift = currencyExponent(to) - currencyExponent(from);
      const expected = shift >= 0 ? BigInt(a) * 10n ** BigInt(shift) : BigInt(a) / 10n ** BigInt(-shift);
      expect(convertMinor(a, from, to, '1')).toBe(expected);
      expect(convertMinor(a, from, to, '1.000')).toBe(expected);
    }));
  });

  it('formats what it parses, in the shortest form', () => {
    fc.assert(fc.property(rate, (r) => {
      expect(formatDecimal(parseDecimal(r))).toBe(r);
      expect(r).toMatch(/^(0|[1-9]\d*)(\.\d*[1-9])?$/);
    }));
  });
});
