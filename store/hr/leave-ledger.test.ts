import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaveInvariantError } from '../../domain/hr/errors.js';
import { testConfig } from '../../test/harness.js';
import { hrTenant, YEAR } from '../../test/hr-fixtures.js';
import { createPool } from '../db.js';
import { allocateLeave, insertHoliday, leaveBalances, listHolidays, upsertLeaveType } from './leave.js';

let pool: pg.Pool;
let hr: Awaited<ReturnType<typeof hrTenant>>;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, 5);
  hr = await hrTenant(pool, 'leave ledger tests');
});
afterAll(async () => {
  await pool?.end();
});

describe('leave ledger', () => {
  it('is append-only: UPDATE, DELETE and TRUNCATE are refused', async () => {
    const employee = await hr.hire();
    const entry = await hr.allocate(employee.id, 5);
    await expect(pool.query('UPDATE leave_ledger SET days = 50 WHERE id = $1', [entry.id])).rejects.toMatchObject({ code: '23001' });
    await expect(pool.query('DELETE FROM leave_ledger WHERE id = $1', [entry.id])).rejects.toMatchObject({ code: '23001' });
    await expect(pool.query('TRUNCATE leave_ledger')).rejects.toMatchObject({ code: '23001' });
    expect(await hr.balance(employee.id)).toMatchObject({ allocatedDays: 5, availableDays: 5 });
  });

  it('allocations add up per leave type and year; balances list every leave type', async () => {
    await upsertLeaveType(pool, { tenantId: hr.tenantId, code: 'parental', name: 'Parental leave' });
    const employee = await hr.hire();
    await hr.allocate(employee.id, 20);
    await hr.allocate(employee.id, 2.5);
    await hr.allocate(employee.id, 4, 'annual', YEAR + 1);
    const balances = await leaveBalances(pool, hr.tenantId, employee.id, YEAR);
    expect(balances).toEqual([
      { leaveType: 'annual', year: YEAR, allocatedDays: 22.5, usedDays: 0, reservedDays: 0, availableDays: 22.5 },
      { leaveType: 'parental', year: YEAR, allocatedDays: 0, usedDays: 0, reservedDays: 0, availableDays: 0 },
    ]);
    await expect(leaveBalances(pool, hr.tenantId, 'emp_unknown', YEAR)).rejects.toMatchObject({ code: 'resource_missing' });
  });

  it('refuses days that are not positive multiples of 0.5, unknown employees and leave types', async () => {
    const employee = await hr.hire();
    const allocate = (fields: object) => allocateLeave(pool, { tenantId: hr.tenantId, employeeId: employee.id, leaveType: 'annual', year: YEAR, days: 1, ...fields });
    for (const days of [0, -1, 0.3, 367, Number.NaN]) {
      await expect(allocate({ days })).rejects.toMatchObject({ code: 'parameter_invalid', param: 'days' });
    }
    await expect(allocate({ year: 20310 })).rejects.toMatchObject({ code: 'parameter_invalid', param: 'year' });
    await expect(allocate({ employeeId: 'emp_unknown' })).rejects.toMatchObject({ code: 'resource_missing' });
    await expect(allocate({ leaveType: 'nope' })).rejects.toMatchObject({ code: 'resource_missing', param: 'leave_type' });
    // Another tenant's employee is unknown here too.
    const other = await hrTenant(pool, 'other tenant');
    const foreign = await other.hire();
    await expect(allocate({ employeeId: foreign.id })).rejects.toMatchObject({ code: 'resource_missing' });
    expect((await hr.ledgerSums(employee.id)).rows).toBe(0);
  });

  it('an allocation with a key happens once; the key for another allocation is a bug', async () => {
    const employee = await hr.hire();
    const input = { tenantId: hr.tenantId, employeeId: employee.id, leaveType: 'annual', year: YEAR, days: 3, idempotencyKey: 'grant-2031' };
    const first = await allocateLeave(pool, input);
    const again = await allocateLeave(pool, input);
    expect(again).toEqual({ entry: first.entry, replayed: true });
    await expect(allocateLeave(pool, { ...input, days: 4 })).rejects.toBeInstanceOf(LeaveInvariantError);
    expect(await hr.balance(employee.id)).toMatchObject({ allocatedDays: 3 });
  });
});

describe('holidays and leave types', () => {
  it('one holiday per date and country; a year lists global and the country\'s', async () => {
    const tenant = await hrTenant(pool, 'holiday calendar');
    const add = (date: string, country?: string) => insertHoliday(pool, { tenantId: tenant.tenantId, date, name: `Day ${date}`, ...(country ? { country } : {}) });
    await add('2031-01-01');
    await add('2031-05-01', 'FR');
    await add('2031-05-01', 'DE');
    await add('2031-10-03', 'DE');
    await add('2032-01-01');
    await expect(add('2031-05-01', 'FR')).rejects.toMatchObject({ code: 'resource_exists', param: 'date' });
    await expect(add('2031-01-01')).rejects.toMatchObject({ code: 'resource_exists' });
    await expect(add('2031-02-30')).rejects.toMatchObject({ code: 'parameter_invalid', param: 'date' });
    await expect(add('2031-02-03', 'fr')).rejects.toMatchObject({ code: 'parameter_invalid', param: 'country' });

    const dates = async (country?: string) =>
      (await listHolidays(pool, tenant.tenantId, { year: 2031, ...(country ? { country } : {}) })).map((h) => `${h.date}${h.country ?? ''}`);
    expect(await dates('DE')).toEqual(['2031-01-01', '2031-05-01DE', '2031-10-03DE']);
    expect(await dates('FR')).toEqual(['2031-01-01', '2031-05-01FR']);
    expect(await dates()).toEqual(['2031-01-01', '2031-05-01DE', '2031-05-01FR', '2031-10-03DE']);
  });

  it('upserting a leave type replaces it and says whether it was new', async () => {
    const first = await upsertLeaveType(pool, { tenantId: hr.tenantId, code: 'study', name: 'Study', allowHalfDay: false, maxConsecutiveDays: 5 });
    expect(first).toMatchObject({ created: true, leaveType: { code: 'study', allowHalfDay: false, maxConsecutiveDays: 5 } });
    const second = await upsertLeaveType(pool, { tenantId: hr.tenantId, code: 'study', name: 'Study leave' });
    expect(second).toMatchObject({ created: false, leaveType: { name: 'Study leave', allowHalfDay: true, maxConsecutiveDays: null } });
    await expect(upsertLeaveType(pool, { tenantId: hr.tenantId, code: 'bad code', name: 'x' })).rejects.toMatchObject({ param: 'code' });
    await expect(upsertLeaveType(pool, { tenantId: hr.tenantId, code: 'x', name: 'x', maxConsecutiveDays: 0.2 }))
      .rejects.toMatchObject({ param: 'max_consecutive_days' });
  });
});
