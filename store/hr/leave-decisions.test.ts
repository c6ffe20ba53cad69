import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaveError} from '../../domain/hr/errors.js';
import { LeaveInvariantError } from '../../domain/hr/errors.js';
import { testConfig } from '../../test/harness.js';
import { hrTenant } from '../../test/hr-fixtures.js';
import { createPool, withTransaction } from '../db.js';
import { findLeaveRequest, setApprover } from './leave.js';

let pool: pg.Pool;
let hr: Awaited<ReturnType<typeof hrTenant>>;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, 12);
  hr = await hrTenant(pool, 'leave decision tests');
});
afterAll(async () => {
  await pool?.end();
});

async function team(allocatedDays = 10) {
  const boss = await hr.hire();
  const manager = await hr.hire({ managerId: boss.id });
  const employee = await hr.hire({ managerId: manager.id });
  await hr.allocate(employee.id, allocatedDays);
  return { boss, manager, employee };
}

/** The view's balance equals the sums of the raw ledger rows. */
async function expectBalance(employeeId: string, expected: { allocated: number; used: number; reserved: number; available: number }) {
  const { rows: _rows, ...sums } = await hr.ledgerSums(employeeId);
  expect(sums).toEqual(expected);
  expect(await hr.balance(employeeId)).toMatchObject({
    allocatedDays: expected.allocated, usedDays: expected.used, reservedDays: expected.reserved, availableDays: expected.available,
  });
}

describe('decideLeaveRequest: balances stay derived and consistent', () => {
  it('approve, reject, cancel pending, cancel approved: each moves the right days', async () => {
    const { manager, employee } = await team(10);
    const a = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-05' });
    await expectBalance(employee.id, { allocated: 10, used: 0, reserved: 3, available: 7 });

    const approved = await hr.decide(a.id, 'approve', manager.id, { comment: 'Enjoy' });
    expect(approved.request).toMatchObject({ status: 'approved' });
    expect(approved.request.history.at(-1)).toMatchObject({ action: 'approved', actor_id: manager.id, comment: 'Enjoy', status: 'approved' });
    await expectBalance(employee.id, { allocated: 10, used: 3, reserved: 0, available: 7 });

    const b = await hr.request({ employeeId: employee.id, startDate: '2031-03-10', endDate: '2031-03-11' });
    await expectBalance(employee.id, { allocated: 10, used: 3, reserved: 2, available: 5 });
    expect((await hr.decide(b.id, 'reject', manager.id)).request.status).toBe('rejected');
    await expectBalance(employee.id, { allocated: 10, used: 3, reserved: 0, available: 7 });

    const c = await hr.request({ employeeId: employee.id, startDate: '2031-03-12', endDate: '2031-03-12', halfDay: 'am' });
    expect((await hr.decide(c.id, 'cancel', employee.id)).request.status).toBe('cancelled');
    await expectBalance(employee.id, { allocated: 10, used: 3, reserved: 0, available: 7 });

    // The approved leave has not started yet (today is 2031-01-15): cancelling returns its days.
    expect((await hr.decide(a.id, 'cancel', employee.id)).request.status).toBe('cancelled');
    await expectBalance(employee.id, { allocated: 10, used: 0, reserved: 0, available: 10 });
    const history = (await findLeaveRequest(pool, hr.tenantId, a.id))!.history.map((e) => e.action);
    expect(history).toEqual(['requested', 'approved', 'cancelled']);
  });

  it('expire releases the reservation', async () => {
    const { employee } = await team(5);
    const r = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-04' });
    const expired = await hr.decide(r.id, 'expire', null);
    expect(expired.request.status).toBe('expired');
    expect(expired.request.history.at(-1)).toEqual({ at: expect.any(String), action: 'expired', status: 'expired', idempotency_key: expect.any(String) });
    await expectBalance(employee.id, { allocated: 5, used: 0, reserved: 0, available: 5 });
  });

  it('the system approves a request without an approver', async () => {
    const loner = await hr.hire();
    await hr.allocate(loner.id, 2);
    const r = await hr.request({ employeeId: loner.id, startDate: '2031-03-03', endDate: '2031-03-03' });
    expect((await hr.decide(r.id, 'approve', null)).request.status).toBe('approved');
    await expectBalance(loner.id, { allocated: 2, used: 1, reserved: 0, available: 1 });
  });
});

describe('decideLeaveRequest: refusals write nothing', () => {
  it('only the current approver decides; the employee never approves their own leave', async () => {
    const { boss, manager, employee } = await team();
    const r = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-03' });
    for (const actor of [employee.id, boss.id, null]) {
      await expect(hr.decide(r.id, 'approve', actor)).rejects.toMatchObject({ code: 'not_approver' });
    }
    await expect(hr.decide(r.id, 'reject', employee.id)).rejects.toMatchObject({ code: 'not_approver' });
    await expect(hr.decide(r.id, 'cancel', manager.id)).rejects.toMatchObject({ code: 'not_approver' });
    expect(await findLeaveRequest(pool, hr.tenantId, r.id)).toEqual(r);
    await expectBalance(employee.id, { allocated: 10, used: 0, reserved: 1, available: 9 });
  });

  it('illegal moves are leave_request_invalid_state', async () => {
    const { manager, employee } = await team();
    const r = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-04' });
    await hr.decide(r.id, 'reject', manager.id);
    for (const [decision, actor] of [['approve', manager.id], ['reject', manager.id], ['cancel', employee.id], ['expire', null]] as const) {
      await expect(hr.decide(r.id, decision, actor)).rejects.toMatchObject({ code: 'leave_request_invalid_state' });
    }
    const s = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-04' });
    await hr.decide(s.id, 'approve', manager.id);
    await expect(hr.decide(s.id, 'expire', null)).rejects.toMatchObject({ code: 'leave_request_invalid_state' });
    // From its first day on, an approved leave stays.
    await expect(hr.decide(s.id, 'cancel', employee.id, { today: '2031-03-03' })).rejects.toMatchObject({ code: 'leave_request_invalid_state' });
    await expectBalance(employee.id, { allocated: 10, used: 2, reserved: 0, available: 8 });
    await expect(hr.decide('lr_unknown', 'approve', manager.id)).rejects.toMatchObject({ code: 'resource_missing' });
  });

  it('a replayed key changes nothing; a key of another request is a bug', async () => {
    const { manager, employee } = await team();
    const r = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-04' });
    const key = `leave-${r.id}:approve`;
    const first = await hr.decide(r.id, 'approve', manager.id, { idempotencyKey: key });
    const again = await hr.decide(r.id, 'approve', manager.id, { idempotencyKey: key });
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ request: first.request, replayed: true });
    expect((await hr.ledgerSums(employee.id)).rows).toBe(4); // allocation, reservation, release, usage
    await expect(hr.decide(r.id, 'cancel', employee.id, { idempotencyKey: key })).rejects.toBeInstanceOf(LeaveInvariantError);
    const other = await hr.request({ employeeId: employee.id, startDate: '2031-03-10', endDate: '2031-03-10' });
    await expect(hr.decide(other.id, 'approve', manager.id, { idempotencyKey: key })).rejects.toBeInstanceOf(LeaveInvariantError);
  });

  it('ten concurrent decisions on one request: exactly one applies', async () => {
    const { manager, employee } = await team();
    const r = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-05' });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
      (i % 2 === 0 ? hr.decide(r.id, 'approve', manager.id) : hr.decide(r.id, 'cancel', employee.id, { today: '2031-03-04' }))));
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    for (const x of results) {
      if (x.status === 'rejected') expect((x.reason as LeaveError).code).toBe('leave_request_invalid_state');
    }
    const { status } = (await findLeaveRequest(pool, hr.tenantId, r.id))!;
    await expectBalance(employee.id, status === 'approved'
      ? { allocated: 10, used: 3, reserved: 0, available: 7 }
      : { allocated: 10, used: 0, reserved: 0, available: 10 });
  });
});

describe('setApprover (escalation)', () => {
  const escalate = (requestId: string, approverId: string, idempotencyKey?: string) =>
    withTransaction(pool, (c) => setApprover(c, { tenantId: hr.tenantId, requestId, approverId, note: 'No decision in 48 h', ...(idempotencyKey ? { idempotencyKey } : {}) }));

  it("hands the request to the approver's manager; only the new approver decides", async () => {
    const { boss, manager, employee } = await team();
    const r = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-03' });
    const escalated = await escalate(r.id, boss.id, `leave-${r.id}:escalate:1`);
    expect(escalated.approverId).toBe(boss.id);
    expect(escalated.history.at(-1)).toMatchObject({
      action: 'escalated', status: 'pending', approver_id: boss.id, previous_approver_id: manager.id, comment: 'No decision in 48 h',
    });
    // A retry of the same step changes nothing, even though the approver moved on.
    expect(await escalate(r.id, manager.id, `leave-${r.id}:escalate:1`)).toEqual(escalated);
    expect(await escalate(r.id, boss.id)).toEqual(escalated);
    await expect(hr.decide(r.id, 'approve', manager.id)).rejects.toMatchObject({ code: 'not_approver' });
    expect((await hr.decide(r.id, 'approve', boss.id)).request.status).toBe('approved');
  });

  it('refuses the employee, an unknown approver and a decided request', async () => {
    const { boss, manager, employee } = await team();
    const r = await hr.request({ employeeId: employee.id, startDate: '2031-03-03', endDate: '2031-03-03' });
    await expect(escalate(r.id, employee.id)).rejects.toMatchObject({ code: 'parameter_invalid', param: 'approver_id' });
    await expect(escalate(r.id, 'emp_unknown')).rejects.toMatchObject({ code: 'resource_missing', param: 'approver_id' });
    await hr.decide(r.id, 'approve', manager.id);
    await expect(escalate(r.id, boss.id)).rejects.toMatchObject({ code: 'leave_request_invalid_state' });
  });
});
