import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoDateOf } from '../hr/working-days.js';
import { PayrollError } from './errors.js';
import { cumulativeGross, monthlyGross, proratedGross, salarySegments, segmentGross } from './gross.js';
import { payrollLine, payrollTotals, type PayrollLine } from './line.js';
import { payPeriodOf, workingDaysOfMonth } from './period.js';
import { divHalfEven } from './rounding.js';
import { checkPayrollRules, type PayrollRules, type TaxBracket } from './rules.js';
import { monthlyContributions, monthlyTax } from './tax.js';

const NO_HOLIDAYS: ReadonlySet<string> = new Set();
const FLAT_ZERO: PayrollRules = { currency: 'USD', taxBrackets: [{ upToMinor: null, rateBps: 0 }], contributions: [] };

/** Salaries up to the contract's amount maximum (10^12 minor units a year). */
const arbAnnual = fc.integer({ min: 1, max: 1_000_000_000_000 });
const arbPeriod = fc.record({ year: fc.integer({ min: 1990, max: 2100 }), month: fc.integer({ min: 1, max: 12 }) })
  .map(({ year, month }) => `${year}-${String(month).padStart(2, '0')}`);
const arbBrackets: fc.Arbitrary<TaxBracket[]> = fc
  .array(fc.integer({ min: 1, max: 1_000_000_000 }), { minLength: 0, maxLength: 6 })
  .chain((steps) => fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: steps.length + 1, maxLength: steps.length + 1 })
    .map((rates) => {
      let upTo = 0;
      const bounded = steps.map((step, i) => ({ upToMinor: (upTo += step), rateBps: rates[i]! }));
      return [...bounded, { upToMinor: null, rateBps: rates[steps.length]! }];
    }));
/** Valid rules: the top tax rate plus the contributions' rates at most 100 %. */
const arbRules: fc.Arbitrary<PayrollRules> = fc
  .record({
    taxBrackets: arbBrackets,
    contributions: fc.array(fc.record({ rateBps: fc.integer({ min: 0, max: 3_000 }), capMinor: fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: null }) }), { maxLength: 4 }),
  })
  .map(({ taxBrackets, contributions }) => {
    let room = 10_000 - Math.max(...taxBrackets.map((b) => b.rateBps));
    const fitted = contributions.map((c, i) => {
      const rateBps = Math.min(c.rateBps, room);
      room -= rateBps;
      return { code: `c${i}`, rateBps, capMinor: c.capMinor };
    });
    return { currency: 'USD', taxBrackets, contributions: fitted };
  });

describe('divHalfEven', () => {
  it('rounds to the nearest integer, ties to even', () => {
    expect([5n, 15n, 25n, 35n, -5n, -15n].map((n) => divHalfEven(n, 10n))).toEqual([0n, 2n, 2n, 4n, 0n, -2n]);
    expect([14n, 16n, 24n, 26n].map((n) => divHalfEven(n, 10n))).toEqual([1n, 2n, 2n, 3n]);
  });
  it('is the nearest integer to the exact quotient, the even one on a tie', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), (n, d) => {
      const r = divHalfEven(n, d);
      const error = 2n * (n - r * d); // 2 × (exact − r) × d
      expect(error <= d && error >= -d).toBe(true);
      if (error === d || error === -d) expect(r % 2n).toBe(0n);
    }));
  });
});

describe('proration by calendar days', () => {
  it('the parts of a month split at any day sum to the full month exactly', () => {
    fc.assert(fc.property(arbAnnual, arbPeriod, fc.integer({ min: 1, max: 30 }), (annual, period, at) => {
      const p = payPeriodOf(period);
      const split = p.firstDay + Math.min(at, p.calendarDays - 1) - 1; // the last day of the first part
      const first = segmentGross({ annualSalaryMinor: annual, firstDay: p.firstDay, lastDay: split }, p);
      const second = segmentGross({ annualSalaryMinor: annual, firstDay: split + 1, lastDay: p.lastDay }, p);
      expect(first + second).toBe(BigInt(monthlyGross(annual)));
    }));
  });

  it('a termination on day k and a re-hire on day k + 1 pay the full month between them, through salarySegments', () => {
    fc.assert(fc.property(arbAnnual, arbPeriod, fc.integer({ min: 1, max: 30 }), (annual, period, at) => {
      const p = payPeriodOf(period);
      const lastDay = p.firstDay + Math.min(at, p.calendarDays - 1) - 1;
      const compensations = [{ effectiveDate: '1980-01-01', annualSalaryMinor: annual, currency: 'USD' }];
      const leaver = salarySegments(p, { compensations, hireDate: '1985-06-01', terminationDate: isoDateOf(lastDay) });
      const joiner = salarySegments(p, { compensations, hireDate: isoDateOf(lastDay + 1) });
      expect(proratedGross(leaver.segments, p) + proratedGross(joiner.segments, p)).toBe(monthlyGross(annual));
    }));
  });

  it('a salary change on any day pays each salary its own days, and the parts add up per salary', () => {
    fc.assert(fc.property(arbAnnual, arbAnnual, arbPeriod, fc.integer({ min: 2, max: 31 }), (before, after, period, at) => {
      const p = payPeriodOf(period);
      const changeDay = p.firstDay + Math.min(at, p.calendarDays) - 1;
      const { segments } = salarySegments(p, {
        hireDate: '1985-01-01',
        compensations: [
          { effectiveDate: isoDateOf(changeDay), annualSalaryMinor: after, currency: 'USD' },
          { effectiveDate: '1985-01-01', annualSalaryMinor: before, currency: 'USD' },
        ],
      });
      const days = changeDay - p.firstDay;
      expect(proratedGross(segments, p)).toBe(Number(
        cumulativeGross(before, days, p) + BigInt(monthlyGross(after)) - cumulativeGross(after, days, p),
      ));
    }));
  });
});

describe('a payroll line', () => {
  const arbLineInput = fc.record({
    annual: arbAnnual, period: arbPeriod, rules: arbRules,
    unpaidHalfDays: fc.integer({ min: 0, max: 46 }), payoutHalfDays: fc.integer({ min: 0, max: 120 }),
  });
  const lineOf = (i: { annual: number; period: string; rules: PayrollRules; unpaidHalfDays: number; payoutHalfDays: number }) => payrollLine({
    period: i.period, rules: i.rules, holidays: NO_HOLIDAYS, unpaidDays: i.unpaidHalfDays / 2, leavePayoutDays: i.payoutHalfDays / 2,
    employment: { hireDate: '1980-01-01', compensations: [{ effectiveDate: '1980-01-01', annualSalaryMinor: i.annual, currency: 'USD' }] },
  })!;

  it('net = gross − tax − contributions, and every amount is bounded: 0 ≤ tax ≤ gross, 0 ≤ net, contributions within caps', () => {
    fc.assert(fc.property(arbLineInput, (input) => {
      const line = lineOf(input);
      expect(line.netMinor).toBe(line.grossMinor - line.taxMinor - line.contributionsMinor);
      expect(line.contributionsMinor).toBe(line.contributions.reduce((s, c) => s + c.amountMinor, 0));
      expect(line.taxMinor).toBeGreaterThanOrEqual(0);
      expect(line.taxMinor).toBeLessThanOrEqual(line.grossMinor);
      expect(line.netMinor).toBeGreaterThanOrEqual(0);
      expect(line.unpaidDeductionMinor).toBeLessThanOrEqual(line.proratedGrossMinor);
      input.rules.contributions.forEach((c, i) => {
        expect(line.contributions[i]!.amountMinor).toBeGreaterThanOrEqual(0);
        if (c.capMinor !== null) expect(line.contributions[i]!.amountMinor).toBeLessThanOrEqual(c.capMinor);
      });
      for (const v of [line.grossMinor, line.taxMinor, line.netMinor]) expect(Number.isSafeInteger(v)).toBe(true);
    }));
  });

  it('the tax is monotone in the gross', () => {
    fc.assert(fc.property(arbBrackets, fc.integer({ min: 0, max: 100_000_000_000 }), fc.integer({ min: 0, max: 100_000_000_000 }), (brackets, a, b) => {
      const [low, high] = a <= b ? [a, b] : [b, a];
      expect(monthlyTax(low, brackets)).toBeLessThanOrEqual(monthlyTax(high, brackets));
    }));
  });

  it('run totals are the exact sums of the lines', () => {
    fc.assert(fc.property(fc.array(arbLineInput, { maxLength: 20 }), (inputs) => {
      const lines: PayrollLine[] = inputs.map(lineOf);
      const totals = payrollTotals(lines);
      expect(totals).toEqual({
        grossMinor: lines.reduce((s, l) => s + l.grossMinor, 0),
        taxMinor: lines.reduce((s, l) => s + l.taxMinor, 0),
        contributionsMinor: lines.reduce((s, l) => s + l.contributionsMinor, 0),
        netMinor: lines.reduce((s, l) => s + l.netMinor, 0),
      });
    }));
  });

  it('no compensation in effect while employed: no line', () => {
    const employment = { hireDate: '2026-01-01', compensations: [{ effectiveDate: '2026-07-01', annualSalaryMinor: 1200, currency: 'USD' }] };
    expect(payrollLine({ period: '2026-06', employment, rules: FLAT_ZERO, holidays: NO_HOLIDAYS })).toBeNull();
    expect(payrollLine({ period: '2026-08', employment: { ...employment, terminationDate: '2026-07-31' }, rules: FLAT_ZERO, holidays: NO_HOLIDAYS })).toBeNull();
  });

  it('refuses a salary in another currency than the rules, or changing currency within the month', () => {
    const employment = (second: string) => ({ hireDate: '2026-01-01', compensations: [
      { effectiveDate: '2026-01-01', annualSalaryMinor: 1200, currency: 'USD' },
      { effectiveDate: '2026-06-15', annualSalaryMinor: 1200, currency: second },
    ] });
    expect(() => payrollLine({ period: '2026-06', employment: employment('EUR'), rules: FLAT_ZERO, holidays: NO_HOLIDAYS }))
      .toThrow(expect.objectContaining({ code: 'currency_mismatch' }));
    expect(() => payrollLine({ period: '2026-07', employment: employment('EUR'), rules: FLAT_ZERO, holidays: NO_HOLIDAYS }))
      .toThrow(expect.objectContaining({ code: 'currency_mismatch' }));
    expect(payrollLine({ period: '2026-07', employment: employment('USD'), rules: FLAT_ZERO, holidays: NO_HOLIDAYS })!.grossMinor).toBe(100);
  });
});

/**
 * Worked examples, each checked by hand (the comments show the arithmetic). Amounts in minor
 * units: USD cents, JPY yen (exponent 0), EUR cents, BHD fils (exponent 3).
 */
describe('worked examples', () => {
  const us: PayrollRules = {
    currency: 'USD',
    taxBrackets: [{ upToMinor: 1_100_000, rateBps: 1_000 }, { upToMinor: 4_472_500, rateBps: 1_200 }, { upToMinor: null, rateBps: 2_200 }],
    contributions: [{ code: 'social_security', rateBps: 620, capMinor: 1_000_000 }, { code: 'medicare', rateBps: 145, capMinor: null }],
  };
  const jp: PayrollRules = {
    currency: 'JPY',
    taxBrackets: [{ upToMinor: 1_950_000, rateBps: 500 }, { upToMinor: 3_300_000, rateBps: 1_000 }, { upToMinor: 6_950_000, rateBps: 2_000 }, { upToMinor: null, rateBps: 2_300 }],
    contributions: [{ code: 'health', rateBps: 500, capMinor: null }, { code: 'pension', rateBps: 915, capMinor: 59_475 }],
  };
  const de: PayrollRules = {
    currency: 'EUR',
    taxBrackets: [{ upToMinor: 1_209_600, rateBps: 0 }, { upToMinor: null, rateBps: 3_000 }],
    contributions: [{ code: 'pension', rateBps: 930, capMinor: 70_680 }, { code: 'health', rateBps: 730, capMinor: 40_000 }],
  };
  const bh: PayrollRules = { currency: 'BHD', taxBrackets: [{ upToMinor: null, rateBps: 0 }], contributions: [] };
  const employed = (annual: number, currency: string, extra: { hireDate?: string; terminationDate?: string } = {}) => ({
    hireDate: extra.hireDate ?? '2020-01-01', terminationDate: extra.terminationDate ?? null,
    compensations: [{ effectiveDate: '2020-01-01', annualSalaryMinor: annual, currency }],
  });

  const table: {
    name: string; period: string; rules: PayrollRules; employment: ReturnType<typeof employed>; unpaidDays?: number; leavePayoutDays?: number;
    gross: number; tax: number; contributions: number[]; net: number;
  }[] = [
    {
      // 6,000,000 / 12 = 500,000. Tax: 1,100,000 × 10 % + 3,372,500 × 12 % + 1,527,500 × 22 % = 850,750 a year → 70,895.83 → 70,896.
      // Social security 6.2 % = 31,000 (under its cap), medicare 1.45 % = 7,250.
      name: 'US-like, $60,000 a year', period: '2026-06', rules: us, employment: employed(6_000_000, 'USD'),
      gross: 500_000, tax: 70_896, contributions: [31_000, 7_250], net: 390_854,
    },
    {
      // $240,000 a year: social security 6.2 % of 2,000,000 = 124,000 (under its cap of 1,000,000), medicare 29,000.
      // Tax: 110,000 + 404,700 + (24,000,000 − 4,472,500) × 22 % = 4,296,050 → total 4,810,750 a year / 12 = 400,895.83 → 400,896.
      name: 'US-like, $240,000 a year', period: '2026-06', rules: us, employment: employed(24_000_000, 'USD'),
      gross: 2_000_000, tax: 400_896, contributions: [124_000, 29_000], net: 1_446_104,
    },
    {
      // ¥6,000,000 / 12 = 500,000. Tax: 97,500 + 135,000 + 2,700,000 × 20 % = 772,500 a year / 12 = 64,375 exactly.
      // Health 5 % = 25,000; pension 9.15 % = 45,750 (under its cap of 59,475).
      name: 'Japan-like, ¥6,000,000 a year (no minor unit)', period: '2026-06', rules: jp, employment: employed(6_000_000, 'JPY'),
      gross: 500_000, tax: 64_375, contributions: [25_000, 45_750], net: 364_875,
    },
    {
      // €120,000 / 12 = 1,000,000 cents. Tax: (12,000,000 − 1,209,600) × 30 % = 3,237,120 a year / 12 = 269,760.
      // Pension 9.3 % = 93,000 → capped at 70,680; health 7.3 % = 73,000 → capped at 40,000.
      name: 'Germany-like, €120,000 a year, both contributions capped', period: '2026-06', rules: de, employment: employed(12_000_000, 'EUR'),
      gross: 1_000_000, tax: 269_760, contributions: [70_680, 40_000], net: 619_560,
    },
    {
      // BHD 7,200 a year = 7,200,000 fils; February 2026 has 28 days; hired on the 11th: days 11..28.
      // C(28) = 600,000; C(10) = 7,200,000 × 10 / 336 = 214,285.71 → 214,286; pay = 385,714.
      name: 'Bahrain-like, hired on 11 February (3 decimals)', period: '2026-02', rules: bh,
      employment: employed(7_200_000, 'BHD', { hireDate: '2026-02-11' }),
      gross: 385_714, tax: 0, contributions: [], net: 385_714,
    },
    {
      // June 2026 has 22 working days (Mon 1st .. Tue 30th). Unpaid 2 days: 6,000,000 × 2 / (12 × 22) = 45,454.55 → 45,455.
      name: 'two unpaid days in June', period: '2026-06', rules: { ...us, taxBrackets: [{ upToMinor: null, rateBps: 0 }], contributions: [] },
      employment: employed(6_000_000, 'USD'), unpaidDays: 2,
      gross: 454_545, tax: 0, contributions: [], net: 454_545,
    },
    {
      // Terminated on 15 June: C(15) = 6,000,000 × 15 / 360 = 250,000. Payout 3 days: 6,000,000 × 3 / 264 = 68,181.82 → 68,182.
      name: 'terminated mid-June, three days of leave paid out', period: '2026-06',
      rules: { ...us, taxBrackets: [{ upToMinor: null, rateBps: 0 }], contributions: [] },
      employment: employed(6_000_000, 'USD', { terminationDate: '2026-06-15' }), leavePayoutDays: 3,
      gross: 318_182, tax: 0, contributions: [], net: 318_182,
    },
    {
      // Half to even: 18 / 12 = 1.5 → 2 and 30 / 12 = 2.5 → 2 (tested below); 6 / 12 = 0.5 → 0 here.
      name: 'half to even on the monthly gross', period: '2026-06', rules: FLAT_ZERO, employment: employed(6, 'USD'),
      gross: 0, tax: 0, contributions: [], net: 0,
    },
  ];

  it.each(table)('$name', (row) => {
    checkPayrollRules(row.rules);
    const line = payrollLine({
      period: row.period, rules: row.rules, employment: row.employment, holidays: NO_HOLIDAYS,
      unpaidDays: row.unpaidDays, leavePayoutDays: row.leavePayoutDays,
    })!;
    expect({ gross: line.grossMinor, tax: line.taxMinor, contributions: line.contributions.map((c) => c.amountMinor), net: line.netMinor })
      .toEqual({ gross: row.gross, tax: row.tax, contributions: row.contributions, net: row.net });
  });

  it('rounds the monthly gross half to even', () => {
    expect([6, 18, 30, 42].map(monthlyGross)).toEqual([0, 2, 2, 4]);
  });

  it('counts working days without holidays and with one', () => {
    expect(workingDaysOfMonth(payPeriodOf('2026-06'), NO_HOLIDAYS)).toBe(22);
    expect(workingDaysOfMonth(payPeriodOf('2026-06'), new Set(['2026-06-03', '2026-06-06']))).toBe(21); // the 6th is a Saturday
    expect(payPeriodOf('2024-02').calendarDays).toBe(29);
  });

  it('never takes more contributions than the gross has left after tax', () => {
    // gross 3: tax 50 % of 3 = 1.5 → 2; the 50 % contribution would be 2 too, but only 1 is left.
    expect(monthlyContributions(3, 2, [{ code: 'x', rateBps: 5_000, capMinor: null }])).toEqual([{ code: 'x', amountMinor: 1 }]);
  });
});

describe('rules and inputs that are refused', () => {
  const invalid = (rules: Partial<PayrollRules>) => () => checkPayrollRules({ ...FLAT_ZERO, ...rules });
  it.each([
    ['brackets not ascending', { taxBrackets: [{ upToMinor: 100, rateBps: 1 }, { upToMinor: 100, rateBps: 2 }, { upToMinor: null, rateBps: 3 }] }, 'tax_brackets'],
    ['last bracket bounded', { taxBrackets: [{ upToMinor: 100, rateBps: 1 }] }, 'tax_brackets'],
    ['unbounded bracket before the last', { taxBrackets: [{ upToMinor: null, rateBps: 1 }, { upToMinor: null, rateBps: 1 }] }, 'tax_brackets'],
    ['no bracket', { taxBrackets: [] }, 'tax_brackets'],
    ['rate above 100 %', { taxBrackets: [{ upToMinor: null, rateBps: 10_001 }] }, 'tax_brackets'],
    ['duplicate contribution code', { contributions: [{ code: 'a', rateBps: 1, capMinor: null }, { code: 'a', rateBps: 1, capMinor: null }] }, 'contributions'],
    ['zero cap', { contributions: [{ code: 'a', rateBps: 1, capMinor: 0 }] }, 'contributions'],
    ['tax and contributions over 100 %', { taxBrackets: [{ upToMinor: null, rateBps: 6_000 }], contributions: [{ code: 'a', rateBps: 4_001, capMinor: null }] }, 'contributions'],
  ] as const)('%s', (_name, rules, param) => {
    expect(invalid(rules as Partial<PayrollRules>)).toThrow(PayrollError);
    expect(invalid(rules as Partial<PayrollRules>)).toThrow(expect.objectContaining({ code: 'parameter_invalid', param }));
  });

  it('refuses a bad period and unpaid days off the half-day grid', () => {
    expect(() => payPeriodOf('2026-13')).toThrow(expect.objectContaining({ code: 'parameter_invalid', param: 'period' }));
    expect(() => payrollLine({
      period: '2026-06', rules: FLAT_ZERO, holidays: NO_HOLIDAYS, unpaidDays: 0.3,
      employment: { hireDate: '2026-01-01', compensations: [{ effectiveDate: '2026-01-01', annualSalaryMinor: 1200, currency: 'USD' }] },
    })).toThrow(expect.objectContaining({ code: 'parameter_invalid', param: 'unpaid_days' }));
  });
});
