import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, nthMonday, utcYear } from '../../test/calendar.js';
import { actorHeaders, startHarness, type Call, type Harness } from '../../test/harness.js';

/**
 * Leave dates come from the real date: LEAVE_YEAR (next year) has not started, so its leave can
 * still be cancelled after approval; PAST_YEAR has, so its leave has started. All on the UTC calendar.
 */
const LEAVE_YEAR = utcYear() + 1;
const PAST_YEAR = utcYear() - 1;
/** Monday of the `n`-th week of LEAVE_YEAR, moved by `days`. */
const day = (week: number, days = 0) => addDays(nthMonday(LEAVE_YEAR, week), days);

let h: Harness;
let stopWorker: () => Promise<void>;

beforeAll(async () => {
  h = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '15000' } });
  stopWorker = await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

let employeeCount = 0;
async function employee(call: Call, managerId?: string, country?: string): Promise<string> {
  employeeCount++;
  const res = await call('POST', '/v1/employees', {
    body: {
      employee_number: `E-${employeeCount}`, first_name: 'Ada', last_name: `Person ${employeeCount}`, email: `p${employeeCount}@example.com`,
      department: 'Engineering', hire_date: '2020-01-15', ...(managerId ? { manager_id: managerId } : {}), ...(country ? { country } : {}),
    },
  });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.id as string;
}

/** A tenant with a CEO (no manager) → manager → employee, annual leave, 10 days for LEAVE_YEAR, a holiday on a Wednesday. */
async function company(h: Harness) {
  const tenant = await h.newTenant();
  const call = tenant.call;
  expect((await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave', allow_half_day: true } })).status).toBe(201);
  expect((await call('POST', '/v1/holidays', { body: { date: day(9, 2), name: 'Founders day' } })).status).toBe(201);
  const ceo = await employee(call);
  const manager = await employee(call, ceo);
  const worker = await employee(call, manager);
  for (const id of [ceo, manager, worker]) {
    expect((await call('POST', `/v1/employees/${id}/leave-allocations`, { body: { leave_type: 'annual', year: LEAVE_YEAR, days: 10 } })).status).toBe(201);
  }
  const request = (employeeId: string, start: string, end: string, extra: Record<string, unknown> = {}) =>
    call('POST', '/v1/leave-requests', { body: { employee_id: employeeId, leave_type: 'annual', start_date: start, end_date: end, ...extra } });
  const balance = async (id: string, year = LEAVE_YEAR) => (await call('GET', `/v1/employees/${id}/leave-balances?year=${year}`)).body[0];
  /** The request's headers when `sub` acts (Steadfast-Actor). */
  const as = (sub: string) => actorHeaders(tenant, sub);
  return { tenant, call, ceo, manager, worker, request, balance, as };
}

describe('leave requests', () => {
  it('a week with a holiday counts 4 days, reserved until the manager approves', async () => {
    const { call, manager, worker, request, balance, as } = await company(h);
    const res = await request(worker, day(9), day(9, 4), { reason: 'Skiing' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ object: 'leave_request', status: 'pending', days: 4, approver_id: manager, employee_id: worker });
    expect(res.body.history.map((e: { action: string }) => e.action)).toEqual(['requested', 'notified']);
    expect(await balance(worker)).toMatchObject({ leave_type: 'annual', year: LEAVE_YEAR, allocated: 10, used: 0, reserved: 4, available: 6 });
    const inbox = await call('GET', `/v1/leave-requests?approver_id=${manager}&status=pending`);
    expect(inbox.body.data.map((r: { id: string }) => r.id)).toEqual([res.body.id]);

    expect((await call('POST', `/v1/leave-requests/${res.body.id}/approve`, { body: {}, headers: await as(worker) })).body.error.code).toBe('not_approver');
    const approved = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, { body: { approver_id: manager, comment: 'Enjoy' }, headers: await as(manager) });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved' });
    expect(approved.body.history.map((e: { action: string }) => e.action)).toEqual(['requested', 'notified', 'approved', 'notified']);
    expect(approved.body.history[2]).toMatchObject({ action: 'approved', actor_id: manager, comment: 'Enjoy' });
    expect(approved.body.history[3]).toMatchObject({ event: 'leave.approved', recipient_id: worker });
    expect(await balance(worker)).toMatchObject({ used: 4, reserved: 0, available: 6 });
    const again = await call('POST', `/v1/leave-requests/${res.body.id}/reject`, { body: {}, headers: await as(manager) });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('leave_request_invalid_state');

    // Cancelled before it starts (next year): the days come back.
    const cancelled = await call('POST', `/v1/leave-requests/${res.body.id}/cancel`, { body: { employee_id: worker }, headers: await as(worker) });
    expect(cancelled.body).toMatchObject({ status: 'cancelled' });
    expect(await balance(worker)).toMatchObject({ used: 0, reserved: 0, available: 10 });
  });

  it('an approved leave that has started cannot be cancelled: 409, the days stay used', async () => {
    const { call, manager, worker, request, balance, as } = await company(h);
    expect((await call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'annual', year: PAST_YEAR, days: 5 } })).status).toBe(201);
    const monday = nthMonday(PAST_YEAR, 10);
    const res = await request(worker, monday, addDays(monday, 1));
    expect(res.body).toMatchObject({ status: 'pending', days: 2 });
    const approved = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, { body: {}, headers: await as(manager) });
    expect(approved.body).toMatchObject({ status: 'approved' });
    const cancelled = await call('POST', `/v1/leave-requests/${res.body.id}/cancel`, { body: { employee_id: worker }, headers: await as(worker) });
    expect(cancelled.status).toBe(409);
    expect(cancelled.body.error.code).toBe('leave_request_invalid_state');
    expect((await call('GET', `/v1/leave-requests/${res.body.id}`)).body.status).toBe('approved');
    expect(await balance(worker, PAST_YEAR)).toMatchObject({ allocated: 5, used: 2, reserved: 0, available: 3 });
  });

  it('half day 0.5; overlap 409 leave_conflict; over the balance 422; rejection gives the days back', async () => {
    const { call, manager, worker, request, balance, as } = await company(h);
    const half = await request(worker, day(14), day(14), { half_day: 'am' });
    expect(half.body).toMatchObject({ status: 'pending', days: 0.5 });
    const overlap = await request(worker, day(14), day(14, 1));
    expect(overlap.status).toBe(409);
    expect(overlap.body.error.code).toBe('leave_conflict');
    const tooMuch = await request(worker, day(18), day(19, 4)); // 10 working days
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error.code).toBe('insufficient_leave_balance');
    const backwards = await request(worker, day(19), day(18));
    expect(backwards.status).toBe(400);
    const rejected = await call('POST', `/v1/leave-requests/${half.body.id}/reject`, { body: { comment: 'Release week' }, headers: await as(manager) });
    expect(rejected.body).toMatchObject({ status: 'rejected' });
    expect(await balance(worker)).toMatchObject({ reserved: 0, used: 0, available: 10 });
  });

  it('four concurrent 3-day requests against a balance of 3: exactly one is accepted', async () => {
    const { call, worker, request } = await company(h);
    await call('POST', '/v1/leave-types', { body: { code: 'sick', name: 'Sick leave' } });
    await call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'sick', year: LEAVE_YEAR, days: 3 } });
    const weeks = [23, 24, 25, 26];
    const results = await Promise.all(weeks.map((week) => request(worker, day(week), day(week, 2), { leave_type: 'sick' })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 422).map((r) => r.body.error.code)).toEqual(['insufficient_leave_balance', 'insufficient_leave_balance', 'insufficient_leave_balance']);
  });

  it('an employee without a manager is approved at once', async () => {
    const { ceo, request } = await company(h);
    const res = await request(ceo, day(27), day(27, 1));
    expect(res.body).toMatchObject({ status: 'approved', approver_id: null, days: 2 });
  });

  it('the org chart: direct reports and the whole subtree', async () => {
    const { call, ceo, manager, worker } = await company(h);
    const direct = await call('GET', `/v1/employees/${ceo}/reports?depth=1`);
    expect(direct.body.data.map((e: { id: string }) => e.id)).toEqual([manager]);
    const all = await call('GET', `/v1/employees/${ceo}/reports?depth=all`);
    expect(all.body.data.map((e: { id: string; depth: number }) => [e.id, e.depth])).toEqual([[manager, 1], [worker, 2]]);
  });

  it('a manager cannot be made a report of their own report: 400', async () => {
    const { call, ceo, manager, worker } = await company(h);
    const cycle = await call('POST', `/v1/employees/${ceo}`, { body: { manager_id: worker } });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.code).toBe('parameter_invalid');
    expect((await call('GET', `/v1/employees/${ceo}`)).body.manager_id).toBeNull();
    const moved = await call('POST', `/v1/employees/${worker}`, { body: { manager_id: ceo } });
    expect(moved.body).toMatchObject({ manager_id: ceo });
    expect((await call('GET', `/v1/employees/${manager}/reports?depth=all`)).body.data).toEqual([]);
  });

  it('a duplicate employee number or email is 409 resource_exists', async () => {
    const { call } = await company(h);
    const body = { employee_number: 'DUP-1', first_name: 'A', last_name: 'B', email: 'dup@example.com', department: 'Ops', hire_date: '2021-01-01' };
    expect((await call('POST', '/v1/employees', { body })).status).toBe(201);
    const again = await call('POST', '/v1/employees', { body: { ...body, employee_number: 'DUP-2', email: 'DUP@example.com' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('resource_exists');
  });

  it('a worker restarted while a request waits for approval: the approval still completes', async () => {
    const { call, manager, worker, request, as } = await company(h);
    const res = await request(worker, day(31), day(31, 1));
    expect(res.body.status).toBe('pending');
    await stopWorker();
    stopWorker = await h.startWorker();
    const approved = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, { body: {}, headers: await as(manager) });
    expect(approved.body).toMatchObject({ status: 'approved' });
  });
});
