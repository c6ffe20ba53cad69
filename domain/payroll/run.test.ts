import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { payPeriodOf } from './period.js';
import { batchRanges, calculateRun, unpaidDaysInPeriod, type EmployeeInPeriod, type RunInputs } from './run.js';
import type { PayrollRules } from './rules.js';

const US: PayrollRules = {
  currency: 'USD',
  taxBrackets: [{ upToMinor: 1_100_000, rateBps: 1_000 }, { upToMinor: null, rateBps: 2_000 }],
  contributions: [{ code: 'pension', rateBps: 500, capMinor: 20_000 }],
};

const employee = (id: string, extra: Partial<EmployeeInPeriod> = {}): EmployeeInPeriod => ({
  id, hireDate: '2024-01-01', terminationDate: null, country: 'US',
  compensations: [{ effectiveDate: '2024-01-01', annualSalaryMinor: 6_000_000, currency: 'USD' }], ...extra,
});

const inputs = (employees: EmployeeInPeriod[], extra: Partial<RunInputs> = {}): RunInputs => ({
  period: '2026-10', employees, rules: new Map([['US', US]]), holidays: { global: [], byCountry: new Map() },
  unpaidLeave: [], payoutDays: new Map(), ...extra,
});

describe('calculateRun', () => {
  it('one line per employee paid in the period, numbered 1..n in id order; totals are the sums of the lines', () => {
    const calc = calculateRun(inputs([
      employee('emp_c'), employee('emp_a', { hireDate: '2026-10-20' }), employee('emp_b'),
      employee('emp_gone', { terminationDate: '2026-09-30' }), employee('emp_unpaid', { compensations: [] }),
    ]));
    expect(calc.ok).toBe(true);
    if (!calc.ok) return;
    expect(calc.lines.map((l) => [l.employeeId, l.seq])).toEqual([['emp_a', 1], ['emp_b', 2], ['emp_c', 3]]);
    for (const field of ['grossMinor', 'taxMinor', 'contributionsMinor', 'netMinor'] as const) {
      expect(calc.totals[field]).toBe(calc.lines.reduce((s, l) => s + l[field], 0));
    }
    expect(calc.lines[0]!.grossMinor).toBeLessThan(calc.lines[1]!.grossMinor); // hired on the 20th: prorated
  });

  it('fails the run, naming the employee, when their country has no rules or their salary changes currency in the month', () => {
    expect(calculateRun(inputs([employee('emp_a'), employee('emp_fr', { country: 'FR' })]))).toMatchObject({ ok: false, code: 'payroll_rules_missing' });
    const twoCurrencies = employee('emp_x', {
      compensations: [{ effectiveDate: '2024-01-01', annualSalaryMinor: 6_000_000, currency: 'USD' }, { effectiveDate: '2026-10-15', annualSalaryMinor: 6_000_000, currency: 'EUR' }],
    });
    const calc = calculateRun(inputs([twoCurrencies]));
    expect(calc).toMatchObject({ ok: false, code: 'currency_mismatch' });
    if (!calc.ok) expect(calc.message).toContain('emp_x');
    // No rules matter for someone not paid in the period.
    expect(calculateRun(inputs([employee('emp_fr', { country: 'FR', hireDate: '2026-11-02' })])).ok).toBe(true);
  });

  it('deducts unpaid leave and adds the leaver’s payout from the inputs', () => {
    const calc = calculateRun(inputs([employee('emp_a'), employee('emp_b', { terminationDate: '2026-10-15' })], {
      unpaidLeave: [{ employeeId: 'emp_a', startDate: '2026-09-28', endDate: '2026-10-02', halfDay: null }],
      payoutDays: new Map([['emp_b', 3]]),
    }));
    if (!calc.ok) throw new Error(calc.message);
    expect(calc.lines[0]).toMatchObject({ employeeId: 'emp_a', unpaidDays: 2 }); // Thu 1 and Fri 2 October
    expect(calc.lines[1]).toMatchObject({ employeeId: 'emp_b', leavePayoutDays: 3 });
    expect(calc.lines[1]!.leavePayoutMinor).toBeGreaterThan(0);
  });
});

describe('unpaidDaysInPeriod', () => {
  const october = payPeriodOf('2026-10');
  it('clips each leave to the month, skips weekends and holidays, counts a half day as 0.5', () => {
    expect(unpaidDaysInPeriod([
      { employeeId: 'e', startDate: '2026-10-30', endDate: '2026-11-03', halfDay: null }, // Fri 30 (Sat 31 off)
      { employeeId: 'e', startDate: '2026-10-12', endDate: '2026-10-14', halfDay: null }, // Mon–Wed, the 13th a holiday
      { employeeId: 'e', startDate: '2026-10-20', endDate: '2026-10-20', halfDay: 'am' },
      { employeeId: 'e', startDate: '2026-10-13', endDate: '2026-10-13', halfDay: 'pm' }, // a holiday: nothing
    ], october, new Set(['2026-10-13']))).toBe(3.5);
  });
});

describe('batchRanges', () => {
  it('covers 1..n exactly once, in order, each range at most the batch size', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 500 }), (n, size) => {
      const ranges = batchRanges(n, size);
      const seqs = ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
      expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(ranges.every(([a, b]) => b - a + 1 <= size)).toBe(true);
    }));
  });
});
