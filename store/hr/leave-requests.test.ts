import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaveError} from '../../domain/hr/errors.js';
import { LeaveInvariantError } from '../../domain/hr/errors.js';
import { testConfig } from '../../test/harness.js';
import { hrTenant } from '../../test/hr-fixtures.js';
import { createPool, withTransaction } from '../db.js';
import { createLeaveRequest, findLeaveRequest, insertHoliday, listLeaveRequests, upsertLeaveType } from './leave.js';

let pool: pg.Pool;
let hr: Awaited<ReturnType<typeof hrTenant>>;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, 12);
  hr = await hrTenant(pool, 'leave request tests');
});
afterAll(async () => {
  await pool?.end();
});

async function staffWithManager(allocatedDays: number, fields = {}) {
  const manager = await hr.hire();
  const employee = await hr.hire({ managerId: manager.id, ...fields });
  if (allocatedDays > 0) await hr.allocate(employee.id, allocatedDays);
  return { manager, employee };
}

async function rowCounts(employeeId: string) {
  const { rows } = await pool.query(
    `SELECT (SELECT count(*) FROM leave_requests WHERE employee_id = $1)::int AS requests,
            (SELECT count(*) FROM leave_ledger WHERE employee_id = $1)::int AS ledger`,
    [employeeId],
  );
  return rows[0] as { requests: number; ledger: number };
}

describe('createLeaveRequest: the contract examples', () => {
  it('a week with a holiday counts 4 days, reserves them and asks the manager', async () => {
    const { manager, employee } = await staffWithManager(10);
    // Holidays only in September: the other tests use other months.
    await insertHoliday(pool, { tenantId: hr.tenantId, date: '2031-09-03', name: 'Founders day' });
    const request = await hr.request({ employeeId: employee.id, startDate: '2031-09-01', endDate: '2031-09-07', reason: 'Skiing' });
    expect(request).toMatchObject({
      status: 'pending', days: 4, approverId: manager.id, startDate: '2031-09-01', endDate: '2031-09-07', halfDay: null, reason: 'Skiing',
    });
    expect(request.id).toMatch(/^lr_/);
    expect(request.history).toEqual([expect.objectContaining({ action: 'requested', actor_id: employee.id, status: 'pending', approver_id: manager.id })]);
    expect(await hr.balance(employee.id)).toMatchObject({ allocatedDays: 10, usedDays: 0, reservedDays: 4, availableDays: 6 });
    expect(await findLeaveRequest(pool, hr.tenantId, request.id)).toEqual(request);
  });

  it("holidays count for the employee's country and globally, not for other countries", async () => {
    const { employee } = await staffWithManager(10, { country: 'FR' });
    await insertHoliday(pool, { tenantId: hr.tenantId, date: '2031-09-09', name: 'Fête', country: 'FR' });
    await insertHoliday(pool, { tenantId: hr.tenantId, date: '2031-09-10', name: 'Feiertag', country: 'DE' });
    const request = await hr.request({ employeeId: employee.id, startDate: '2031-09-08', endDate: '2031-09-12' });
    expect(request.days).toBe(4);
  });

  it('a half day counts 0.5; a morning and an afternoon of one date do not conflict', async () => {
    const { employee } = await staffWithManager(10);
    const am = await hr.request({ employeeId: employee.id, startDate: '2031-04-08', endDate: '2031-04-08', halfDay: 'am' });
    const pm = await hr.request({ employeeId: employee.id, startDate: '2031-04-08', endDate: '2031-04-08', halfDay: 'pm' });
    expect([am.days, pm.days, am.halfDay, pm.halfDay]).toEqual([0.5, 0.5, 'am', 'pm']);
    await expect(hr.request({ employeeId: employee.id, startDate: '2031-04-08', endDate: '2031-04-08', halfDay: 'am' }))
      .rejects.toMatchObject({ code: 'leave_conflict' });
    expect(await hr.balance(employee.id)).toMatchObject({ reservedDays: 1, availableDays: 9 });
  });

  it('overlapping a pending or approved request is leave_conflict, and writes nothing', async () => {
    const { manager, employee } = await staffWithManager(20);
    const first = await hr.request({ employeeId: employee.id, startDate: '2031-05-05', endDate: '2031-05-09' });
    const before = await rowCounts(employee.id);
    await expect(hr.request({ employeeId: employee.id, startDate: '2031-05-09', endDate: '2031-05-13' }))
      .rejects.toMatchObject({ code: 'leave_conflict', param: 'start_date' });
    await hr.decide(first.id, 'approve', manager.id);
    await expect(hr.request({ employeeId: employee.id, startDate: '2031-05-01', endDate: '2031-05-05' }))
      .rejects.toMatchObject({ code: 'leave_conflict' });
    expect(await rowCounts(employee.id)).toEqual({ requests: before.requests, ledger: before.ledger + 2 });
    // Once the first is cancelled its dates are free again; touching ranges do not overlap.
    await hr.decide(first.id, 'cancel', employee.id);
    await hr.request({ employeeId: employee.id, startDate: '2031-05-09', endDate: '2031-05-13' });
    await hr.request({ employeeId: employee.id, startDate: '2031-05-14', endDate: '2031-05-14' });
  });

  it('more days than available is insufficient_leave_balance, and writes nothing', async () => {
    const { employee } = await staffWithManager(2.5);
    const before = await rowCounts(employee.id);
    await expect(hr.request({ employeeId: employee.id, startDate: '2031-03-17', endDate: '2031-03-19' }))
      .rejects.toMatchObject({ code: 'insufficient_leave_balance' });
    expect(await rowCounts(employee.id)).toEqual(before);
    // Exactly the balance is fine; then nothing is left.
    await hr.request({ employeeId: employee.id, startDate: '2031-03-17', endDate: '2031-03-18' });
    await hr.request({ employeeId: employee.id, startDate: '2031-03-19', endDate: '2031-03-19', halfDay: 'pm' });
    await expect(hr.request({ employeeId: employee.id, startDate: '2031-03-20', endDate: '2031-03-20', halfDay: 'am' }))
      .rejects.toMatchObject({ code: 'insufficient_leave_balance' });
    expect(await hr.balance(employee.id)).toMatchObject({ reservedDays: 2.5, availableDays: 0 });
  });
});

describe('createLeaveRequest: concurrency', () => {
  it('four concurrent 3-day requests on different dates against a balance of 3: exactly one wins', async () => {
    const { employee } = await staffWithManager(3);
    const mondayToWednesday = [['2031-03-03', '2031-03-05'], ['2031-03-10', '2031-03-12'], ['2031-03-17', '2031-03-19'], ['2031-03-24', '2031-03-26']];
    const results = await Promise.allSettled(mondayToWednesday.map(([startDate, endDate]) =>
      hr.request({ employeeId: employee.id, startDate: startDate!, endDate: endDate! })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as LeaveError).code] : []));
    expect(codes).toEqual(['insufficient_leave_balance', 'insufficient_leave_balance', 'insufficient_leave_balance']);
    expect(await hr.balance(employee.id)).toMatchObject({ allocatedDays: 3, reservedDays: 3, availableDays: 0 });
    expect(await rowCounts(employee.id)).toEqual({ requests: 1, ledger: 2 });
  });

  it('four concurrent requests for the same dates: exactly one wins, the rest conflict or lack balance', async () => {
    const { employee } = await staffWithManager(12);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () =>
      hr.request({ employeeId: employee.id, startDate: '2031-03-24', endDate: '2031-03-26' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(['leave_conflict', 'insufficient_leave_balance']).toContain((r.reason as LeaveError).code);
    }
    expect(await hr.balance(employee.id)).toMatchObject({ reservedDays: 3, availableDays: 9 });
  });
});

describe('createLeaveRequest: rules and refusals', () => {
  it('unknown employee or leave type is resource_missing', async () => {
    const { employee } = await staffWithManager(5);
    await expect(hr.request({ employeeId: 'emp_unknown', startDate: '2031-03-03', endDate: '2031-03-03' }))
      .rejects.toMatchObject({ code: 'resource_missing', param: 'employee_id' });
    await expect(hr.request({ employeeId: employee.id, leaveType: 'sabbatical', startDate: '2031-03-03', endDate: '2031-03-03' }))
      .rejects.toMatchObject({ code: 'resource_missing', param: 'leave_type' });
  });

  it("applies the leave type's half-day and length rules", async () => {
    await upsertLeaveType(pool, { tenantId: hr.tenantId, code: 'sick', name: 'Sick', allowHalfDay: false, maxConsecutiveDays: 2 });
    const { employee } = await staffWithManager(0);
    await hr.allocate(employee.id, 10, 'sick');
    await expect(hr.request({ employeeId: employee.id, leaveType: 'sick', startDate: '2031-03-04', endDate: '2031-03-04', halfDay: 'am' }))
      .rejects.toMatchObject({ code: 'parameter_invalid', param: 'half_day' });
    await expect(hr.request({ employeeId: employee.id, leaveType: 'sick', startDate: '2031-03-04', endDate: '2031-03-06' }))
      .rejects.toMatchObject({ code: 'parameter_invalid', param: 'end_date' });
    // Friday to Monday is two working days.
    expect((await hr.request({ employeeId: employee.id, leaveType: 'sick', startDate: '2031-03-07', endDate: '2031-03-10' })).days).toBe(2);
  });

  it('refuses dates that are invalid, reversed, without working days or across New Year', async () => {
    const { employee } = await staffWithManager(5);
    for (const [startDate, endDate, param] of [['2031-02-29', '2031-03-01', 'start_date'], ['2031-03-05', '2031-03-04', 'end_date'],
      ['2031-03-08', '2031-03-09', 'start_date'], ['2031-12-31', '2032-01-02', 'end_date']] as const) {
      await expect(hr.request({ employeeId: employee.id, startDate, endDate })).rejects.toMatchObject({ code: 'parameter_invalid', param });
    }
  });

  it('a retry with the same id is a replay: one request, one reservation', async () => {
    const { employee } = await staffWithManager(10);
    const id = `lr_replay${Date.now()}`;
    const input = { tenantId: hr.tenantId, id, employeeId: employee.id, leaveType: 'annual', startDate: '2031-06-02', endDate: '2031-06-03' };
    const first = await withTransaction(pool, (c) => createLeaveRequest(c, input));
    const again = await withTransaction(pool, (c) => createLeaveRequest(c, input));
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ request: first.request, replayed: true });
    expect(await hr.balance(employee.id)).toMatchObject({ reservedDays: 2 });
    await expect(withTransaction(pool, (c) => createLeaveRequest(c, { ...input, endDate: '2031-06-04' })))
      .rejects.toBeInstanceOf(LeaveInvariantError);
  });

  it('an employee without a manager has no approver', async () => {
    const loner = await hr.hire();
    await hr.allocate(loner.id, 1);
    expect(await hr.request({ employeeId: loner.id, startDate: '2031-03-03', endDate: '2031-03-03' })).toMatchObject({ approverId: null });
  });

  it('refuses to run outside a transaction', async () => {
    const { employee } = await staffWithManager(5);
    const client = await pool.connect();
    try {
      await expect(createLeaveRequest(client, { tenantId: hr.tenantId, employeeId: employee.id, leaveType: 'annual', startDate: '2031-03-03', endDate: '2031-03-03' }))
        .rejects.toThrow(/must run inside a transaction/);
    } finally {
      client.release();
    }
    expect(await rowCounts(employee.id)).toEqual({ requests: 0, ledger: 1 });
  });
});

describe('listLeaveRequests', () => {
  it("an approver's inbox, newest first, in pages; other tenants see nothing", async () => {
    const { manager, employee } = await staffWithManager(20);
    const ids: string[] = [];
    for (const monday of ['2031-03-03', '2031-03-10', '2031-03-17']) {
      ids.push((await hr.request({ employeeId: employee.id, startDate: monday, endDate: monday })).id);
    }
    await hr.decide(ids[1]!, 'approve', manager.id);
    const inbox = await listLeaveRequests(pool, hr.tenantId, { approverId: manager.id, status: 'pending', limit: 1 });
    expect(inbox.data.map((r) => r.id)).toEqual([ids[2]]);
    expect(inbox.has_more).toBe(true);
    const next = await listLeaveRequests(pool, hr.tenantId, { approverId: manager.id, status: 'pending', limit: 1, startingAfter: ids[2] });
    expect(next).toMatchObject({ data: [{ id: ids[0] }], has_more: false });
    const mine = await listLeaveRequests(pool, hr.tenantId, { employeeId: employee.id, limit: 10 });
    expect(mine.data.map((r) => r.id)).toEqual([...ids].reverse());
    const other = await hrTenant(pool, 'another tenant');
    expect((await listLeaveRequests(pool, other.tenantId, { limit: 100 })).data).toEqual([]);
    await expect(listLeaveRequests(pool, hr.tenantId, { limit: 101 })).rejects.toThrow(/page limit must be 1\.\.100/);
  });
});
