import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { payrollLine } from '../../domain/payroll/line.js';
import { payPeriodOf } from '../../domain/payroll/period.js';
import { isoDateOf } from '../../domain/hr/working-days.js';
import { testConfig } from '../../test/harness.js';
import { createPool } from '../db.js';
import { insertEmployee } from '../hr/employees.js';
import { compensationOn, compensationsOverlapping, insertCompensation, listCompensations } from './compensations.js';
import { findPayrollRules, putPayrollRules } from './rules.js';

let pool: pg.Pool;
let tenantId: string;
let counter = 0;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, 5);
  tenantId = (await createTenant(pool, 'compensation repository tests')).id;
});
afterAll(async () => {
  await pool?.end();
});

/** An employee hired 2025-01-06 with salaries from the given dates (annual salary = 1,200 × the index + 1,200). */
async function employeeWithSalaries(dates: string[]): Promise<string> {
  counter++;
  const { id } = await insertEmployee(pool, {
    tenantId, employeeNumber: `C${counter}`, firstName: 'Ada', lastName: 'Pay', email: `c${counter}@example.com`,
    department: 'Finance', hireDate: '2025-01-06',
  });
  for (const [i, effectiveDate] of dates.entries()) {
    await insertCompensation(pool, { tenantId, employeeId: id, effectiveDate, annualSalaryMinor: 1_200 * (i + 1), currency: 'USD' });
  }
  return id;
}

describe('compensations', () => {
  it('the compensation in effect on a day is the latest effective on or before it', async () => {
    const id = await employeeWithSalaries(['2025-01-06', '2025-07-01', '2026-01-01']);
    const on = async (date: string) => (await compensationOn(pool, tenantId, id, date))?.effectiveDate ?? null;
    expect(await on('2025-01-05')).toBeNull();
    expect(await on('2025-01-06')).toBe('2025-01-06');
    expect(await on('2025-06-30')).toBe('2025-01-06');
    expect(await on('2025-07-01')).toBe('2025-07-01');
    expect(await on('2030-01-01')).toBe('2026-01-01');
    expect(await compensationOn(pool, 'tnt_other', id, '2030-01-01')).toBeNull();
  });

  it('the compensations overlapping a period: the one in effect on its first day and those starting inside it', async () => {
    const id = await employeeWithSalaries(['2025-01-06', '2025-07-01', '2025-07-16', '2025-08-01']);
    const overlapping = async (firstDate: string, lastDate: string) =>
      (await compensationsOverlapping(pool, tenantId, id, { firstDate, lastDate })).map((c) => c.effectiveDate);
    expect(await overlapping('2025-07-01', '2025-07-31')).toEqual(['2025-07-01', '2025-07-16']);
    expect(await overlapping('2025-06-01', '2025-06-30')).toEqual(['2025-01-06']);
    expect(await overlapping('2025-01-01', '2025-01-31')).toEqual(['2025-01-06']);
    expect(await overlapping('2024-12-01', '2024-12-31')).toEqual([]);
    expect(await overlapping('2025-06-15', '2025-07-20')).toEqual(['2025-01-06', '2025-07-01', '2025-07-16']);

    // What the payroll run will do with them: July pays 15 days at 2,400 and 16 days at 3,600 a year.
    const p = payPeriodOf('2025-07');
    const compensations = await compensationsOverlapping(pool, tenantId, id, { firstDate: isoDateOf(p.firstDay), lastDate: isoDateOf(p.lastDay) });
    const line = payrollLine({
      period: '2025-07', employment: { hireDate: '2025-01-06', compensations }, holidays: new Set(),
      rules: { currency: 'USD', taxBrackets: [{ upToMinor: null, rateBps: 0 }], contributions: [] },
    })!;
    // C_2400(15) = 2,400 × 15 / 372 = 96.77 → 97; 3,600: C(31) = 300, C(15) = 145.16 → 145; 97 + 155 = 252.
    expect(line.grossMinor).toBe(97 + (300 - 145));
  });

  it('lists newest effective date first, in pages', async () => {
    const id = await employeeWithSalaries(['2025-03-01', '2025-01-06', '2025-02-01']);
    const first = await listCompensations(pool, tenantId, id, { limit: 2 });
    expect(first.data.map((c) => c.effectiveDate)).toEqual(['2025-03-01', '2025-02-01']);
    expect(first.has_more).toBe(true);
    const rest = await listCompensations(pool, tenantId, id, { limit: 2, startingAfter: first.data[1]!.id });
    expect(rest).toMatchObject({ has_more: false, data: [{ effectiveDate: '2025-01-06' }] });
  });

  it('refuses an unknown employee and a second salary on the same date', async () => {
    const id = await employeeWithSalaries(['2025-01-06']);
    await expect(insertCompensation(pool, { tenantId, employeeId: id, effectiveDate: '2025-01-06', annualSalaryMinor: 1, currency: 'USD' }))
      .rejects.toMatchObject({ code: 'resource_exists', param: 'effective_date' });
    await expect(insertCompensation(pool, { tenantId, employeeId: 'emp_missing', effectiveDate: '2025-01-06', annualSalaryMinor: 1, currency: 'USD' }))
      .rejects.toMatchObject({ code: 'resource_missing' });
  });
});

describe('payroll rules', () => {
  it('round-trips through jsonb in the domain’s spelling; a replacement keeps created_at', async () => {
    const rules = {
      currency: 'JPY', taxBrackets: [{ upToMinor: 1_950_000, rateBps: 500 }, { upToMinor: null, rateBps: 2_000 }],
      contributions: [{ code: 'pension', rateBps: 915, capMinor: 59_475 }, { code: 'health', rateBps: 500, capMinor: null }],
    };
    const first = await putPayrollRules(pool, { tenantId, country: 'JP', ...rules });
    expect(first.created).toBe(true);
    expect(await findPayrollRules(pool, tenantId, 'JP')).toMatchObject({ country: 'JP', ...rules });
    const second = await putPayrollRules(pool, { tenantId, country: 'JP', ...rules, contributions: [] });
    expect(second.created).toBe(false);
    expect(second.rules.createdAt).toEqual(first.rules.createdAt);
    expect(second.rules.contributions).toEqual([]);
    await expect(putPayrollRules(pool, { tenantId, country: 'JP', ...rules, taxBrackets: [] })).rejects.toMatchObject({ code: 'parameter_invalid' });
    expect(await findPayrollRules(pool, tenantId, 'FR')).toBeNull();
  });
});
