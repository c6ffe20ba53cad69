import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { daysInYear, proratedAnnualDays } from './hire-allocation.js';
import { dayNumberOf, isoDateOf } from './working-days.js';

const dayArb = fc.integer({ min: dayNumberOf('1999-01-01'), max: dayNumberOf('2041-12-31') });
/** 0.5 to 366 days, in steps of 0.5. */
const annualArb = fc.integer({ min: 1, max: 732 }).map((halves) => halves / 2);

describe('proratedAnnualDays', () => {
  it('worked examples (days × remaining days / days in year, rounded down to 0.5)', () => {
    expect(proratedAnnualDays(25, '2026-01-01')).toEqual({ year: 2026, days: 25 });
    // 184 days from July 1st: 25 × 184 / 365 = 12.60… → 12.5
    expect(proratedAnnualDays(25, '2026-07-01')).toEqual({ year: 2026, days: 12.5 });
    // A leap year: 30 × 306 / 366 = 25.08… (from March 1st) → 25
    expect(proratedAnnualDays(30, '2028-03-01')).toEqual({ year: 2028, days: 25 });
    // December 31st: 20 × 1 / 365 = 0.05… → 0 (nothing to allocate)
    expect(proratedAnnualDays(20, '2026-12-31')).toEqual({ year: 2026, days: 0 });
    expect(proratedAnnualDays(0.5, '2026-01-01')).toEqual({ year: 2026, days: 0.5 });
  });

  it('refuses an annual allowance that is not a positive multiple of 0.5, and bad dates', () => {
    expect(() => proratedAnnualDays(0, '2026-01-01')).toThrow(RangeError);
    expect(() => proratedAnnualDays(1.25, '2026-01-01')).toThrow(RangeError);
    expect(() => proratedAnnualDays(10, '2026-02-30')).toThrow(expect.objectContaining({ code: 'parameter_invalid', param: 'hire_date' }));
  });

  it('knows leap years', () => {
    expect([2024, 2025, 2000, 1900].map(daysInYear)).toEqual([366, 365, 366, 365]);
  });

  it('never more than annual_days, never negative, in steps of 0.5, the whole allowance on January 1st', () => {
    fc.assert(fc.property(annualArb, dayArb, (annual, day) => {
      const date = isoDateOf(day);
      const { year, days } = proratedAnnualDays(annual, date);
      expect(year).toBe(Number(date.slice(0, 4)));
      expect(days).toBeGreaterThanOrEqual(0);
      expect(days).toBeLessThanOrEqual(annual);
      expect(Number.isInteger(days * 2)).toBe(true);
      // Rounded down by less than a step: the exact share minus what was allocated is in [0, 0.5).
      const exact = (annual * (dayNumberOf(`${year}-12-31`) - day + 1)) / daysInYear(year);
      expect(exact - days).toBeGreaterThanOrEqual(-1e-9);
      expect(exact - days).toBeLessThan(0.5);
      if (date.endsWith('-01-01')) expect(days).toBe(annual);
    }), { numRuns: 2000 });
  });

  it('monotone in the hire date: a later hire in the same year never gets more', () => {
    fc.assert(fc.property(annualArb, dayArb, fc.integer({ min: 0, max: 365 }), (annual, day, later) => {
      const first = isoDateOf(day);
      const second = isoDateOf(day + later);
      fc.pre(first.slice(0, 4) === second.slice(0, 4));
      expect(proratedAnnualDays(annual, second).days).toBeLessThanOrEqual(proratedAnnualDays(annual, first).days);
    }), { numRuns: 2000 });
  });

  it('monotone in the allowance: more annual days never give fewer', () => {
    fc.assert(fc.property(annualArb, annualArb, dayArb, (a, b, day) => {
      const [low, high] = a <= b ? [a, b] : [b, a];
      expect(proratedAnnualDays(low, isoDateOf(day)).days).toBeLessThanOrEqual(proratedAnnualDays(high, isoDateOf(day)).days);
    }));
  });
});
