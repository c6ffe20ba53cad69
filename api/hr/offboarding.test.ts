import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../store/db.js';
import { scheduleTermination } from '../../store/hr/employees.js';
import { addDays, nthMonday, utcYear } from '../../test/calendar.js';
import { eventually } from '../../test/eventually.js';
import { actorHeaders, startHarness, type Call, type Harness } from '../../test/harness.js';
import { createOffboardingActivities } from '../../activities/hr/offboarding-activities.js';
import { leaveRunsOf } from '../../workflows/hr/leave-runs.js';
import { BusinessStatus } from '../../workflows/search-attributes.js';

/**
 * Offboarding (contract §9): `POST /v1/employees/:id/terminate` stores the termination date (the
 * last day, paid) and starts the offboarding run, which acts at that date (00:00 UTC): the reports
 * and the approvals waiting for the employee move to their manager, their open leave is cancelled
 * (days back), and they are `terminated`. Tests use yesterday and today (the run acts at once) and
 * tomorrow (the run waits durably).
 */

const LEAVE_YEAR = utcYear() + 1;
const day = (week: number, days = 0) => addDays(nthMonday(LEAVE_YEAR, week), days);
const today = () => new Date().toISOString().slice(0, 10);
const yesterday = () => addDays(today(), -1);
const tomorrow = () => addDays(today(), 1);

let h: Harness;
const startedRuns: string[] = [];
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '15000' } });
});
afterAll(async () => {
  // A run waiting for a termination date must not outlive the file.
  await Promise.allSettled(startedRuns.map((id) => h.temporal.workflow.getHandle(id).terminate('test cleanup')));
  await h?.close();
});

let n = 0;
async function hire(call: Call, managerId?: string): Promise<string> {
  n++;
  const res = await call('POST', '/v1/employees', {
    body: {
      employee_number: `OFF-${n}`, first_name: 'Ada', last_name: `P${n}`, email: `off${n}@example.com`, department: 'Ops',
      hire_date: '2020-01-15', ...(managerId ? { manager_id: managerId } : {}),
    },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** A tenant with boss ← leaver ← report, `annual` leave, 10 days each for the leave year. */
async function team() {
  const tenant = await h.newTenant();
  const { call } = tenant;
  expect((await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } })).status).toBe(201);
  const boss = await hire(call);
  const leaver = await hire(call, boss);
  const report = await hire(call, leaver);
  for (const id of [leaver, report]) {
    expect((await call('POST', `/v1/employees/${id}/leave-allocations`, { body: { leave_type: 'annual', year: LEAVE_YEAR, days: 10 } })).status).toBe(201);
  }
  const request = async (employeeId: string, week: number) => {
    const res = await call('POST', '/v1/leave-requests', {
      body: { employee_id: employeeId, leave_type: 'annual', start_date: day(week), end_date: day(week, 1) },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const terminate = (id: string, body: Record<string, unknown>, idempotencyKey?: string) =>
    call('POST', `/v1/employees/${id}/terminate`, { body, ...(idempotencyKey ? { idempotencyKey } : {}) });
  const run = (id: string) => {
    startedRuns.push(`offboarding-${id}`);
    return h.temporal.workflow.getHandle(`offboarding-${id}`);
  };
  return { tenant, call, boss, leaver, report, request, terminate, run };
}

const available = async (call: Call, employeeId: string) =>
  ((await call('GET', `/v1/employees/${employeeId}/leave-balances?year=${LEAVE_YEAR}`)).body as { available: number }[])[0]!.available;

describe('a leaver', () => {
  it('asks no leave past the last day; once terminated, asks none at all and manages nobody', async () => {
    const { call, boss, leaver, report, terminate } = await team();
    expect((await terminate(leaver, { termination_date: day(2) })).status).toBe(202);
    const leave = (employeeId: string, start: string, end: string) =>
      call('POST', '/v1/leave-requests', { body: { employee_id: employeeId, leave_type: 'annual', start_date: start, end_date: end } });
    const late = await leave(leaver, day(2, 1), day(2, 2));
    expect([late.status, late.body.error?.code, late.body.error?.param]).toEqual([400, 'parameter_invalid', 'end_date']);
    expect((await leave(leaver, day(1), day(1, 1))).status).toBe(201); // before the last day: fine

    expect((await terminate(report, { termination_date: yesterday() })).status).toBe(202);
    await eventually(() => call('GET', `/v1/employees/${report}`), (r) => r.body.status === 'terminated');
    expect((await leave(report, day(3), day(3, 1))).status).toBe(400);
    const named = await call('POST', `/v1/employees/${boss}`, { body: { manager_id: report } });
    expect([named.status, named.body.error?.param]).toEqual([400, 'manager_id']);
    const hiredUnder = await call('POST', '/v1/employees', {
      body: { employee_number: 'OFF-X', first_name: 'X', last_name: 'Y', email: 'offx@example.com', department: 'Ops', hire_date: '2020-01-15', manager_id: report },
    });
    expect(hiredUnder.status).toBe(400);
  });
});

describe('POST /v1/employees/:id/terminate', () => {
  it('a last day in the past: at once the reports move up, open leave is cancelled (days back), the employee is terminated', async () => {
    const { tenant, call, boss, leaver, report, request, terminate, run } = await team();
    const pending = await request(leaver, 20);
    const approved = await request(leaver, 30);
    const approve = await call('POST', `/v1/leave-requests/${approved}/approve`, { body: {}, headers: await actorHeaders(tenant, boss) });
    expect(approve.body.status).toBe('approved');
    const reportsRequest = await request(report, 25);
    expect((await call('GET', `/v1/leave-requests/${reportsRequest}`)).body.approver_id).toBe(leaver);
    expect(await available(call, leaver)).toBe(6);

    const res = await terminate(leaver, { termination_date: yesterday(), reason: 'Moved abroad' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: leaver, status: 'active', termination_date: yesterday(), termination_reason: 'Moved abroad' });
    expect(await run(leaver).result()).toMatchObject({ status: 'terminated', reportsMoved: 1, requestsMoved: 1, leaveCancelled: 2 });

    expect((await call('GET', `/v1/employees/${leaver}`)).body).toMatchObject({ status: 'terminated', termination_date: yesterday() });
    for (const id of [pending, approved]) {
      const cancelled = (await call('GET', `/v1/leave-requests/${id}`)).body;
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.history).toContainEqual(expect.objectContaining({ action: 'cancelled', comment: expect.stringContaining('Offboarding') }));
    }
    expect(await available(call, leaver)).toBe(10);
    // The report now reports to the boss, who takes over the pending approval; the leaver cannot decide it.
    expect((await call('GET', `/v1/employees/${report}`)).body.manager_id).toBe(boss);
    expect((await call('GET', `/v1/leave-requests/${reportsRequest}`)).body).toMatchObject({ status: 'pending', approver_id: boss });
    const byLeaver = await call('POST', `/v1/leave-requests/${reportsRequest}/approve`, { body: {}, headers: await actorHeaders(tenant, leaver) });
    expect(byLeaver.status).toBe(403);
    expect(byLeaver.body.error.code).toBe('not_approver');
    const byBoss = await call('POST', `/v1/leave-requests/${reportsRequest}/approve`, { body: {}, headers: await actorHeaders(tenant, boss) });
    expect(byBoss.status).toBe(200);
    expect(byBoss.body).toMatchObject({ status: 'approved', approver_id: boss });

    // Audited as the employee's terminate action.
    const audit = await call('GET', `/v1/audit-log?action=employee.terminate&resource_id=${leaver}`);
    expect(audit.body.data).toEqual([expect.objectContaining({ action: 'employee.terminate', resource_id: leaver, status: 202 })]);

    // Every step again (a retry, a replayed run): nothing more happens.
    const steps = createOffboardingActivities({ pool: h.pool, leaveRuns: leaveRunsOf({ temporal: h.temporal, log: { warn: () => undefined } }) });
    const step = { tenantId: tenant.id, employeeId: leaver, idempotencyKey: `offboarding-${leaver}:again` };
    expect(await steps.handOverReports(step)).toEqual({ managerId: boss, reportsMoved: 0, requestsMoved: 0 });
    expect(await steps.cancelLeaveAfterLastDay({ ...step, lastDay: yesterday() })).toBe(0);
    await steps.markEmployeeTerminated(step);
    expect((await call('GET', `/v1/leave-requests/${reportsRequest}`)).body).toMatchObject({ status: 'approved', approver_id: boss });
    expect(await available(call, leaver)).toBe(10);
  });

  it('an employee without a manager: the reports get none, and their pending requests stay with the leaver until HR names a manager', async () => {
    const { call, boss, leaver: report, request, terminate, run } = await team();
    // The boss (top of the chart) leaves; the report's request waits for the boss.
    const pending = await request(report, 22);
    expect((await call('GET', `/v1/leave-requests/${pending}`)).body.approver_id).toBe(boss);
    expect((await terminate(boss, { termination_date: yesterday() })).status).toBe(202);
    expect(await run(boss).result()).toMatchObject({ status: 'terminated', reportsMoved: 1, requestsMoved: 0, leaveCancelled: 0 });
    expect((await call('GET', `/v1/employees/${report}`)).body.manager_id).toBeNull();
    expect((await call('GET', `/v1/leave-requests/${pending}`)).body).toMatchObject({ status: 'pending', approver_id: boss });
    // HR names a new manager for the report: the request moves to them (POST /v1/employees/:id).
    const newManager = await hire(call);
    expect((await call('POST', `/v1/employees/${report}`, { body: { manager_id: newManager } })).status).toBe(200);
    expect((await call('GET', `/v1/leave-requests/${pending}`)).body).toMatchObject({ status: 'pending', approver_id: newManager });
  });

  it('a termination date of today: at the date, so at once, the employee is terminated', async () => {
    const { call, leaver, report, terminate, run } = await team();
    const date = today();
    expect((await terminate(leaver, { termination_date: date })).status).toBe(202);
    expect(await run(leaver).result()).toMatchObject({ status: 'terminated', reportsMoved: 1 });
    expect((await call('GET', `/v1/employees/${leaver}`)).body).toMatchObject({ status: 'terminated', termination_date: date });
    expect((await call('GET', `/v1/employees/${report}`)).body.manager_id).not.toBe(leaver);
  });

  it('a termination date of tomorrow: the employee stays active and the run waits durably for the date', async () => {
    const { call, leaver, terminate, run } = await team();
    const date = tomorrow();
    expect((await terminate(leaver, { termination_date: date })).status).toBe(202);
    const described = await eventually(() => run(leaver).describe(),
      (d) => d.typedSearchAttributes.get(BusinessStatus) === 'awaiting_termination_date');
    if (today() === date) return; // the test ran across midnight UTC: the date has come, nothing to wait for
    expect(described.status.name).toBe('RUNNING');
    expect((await call('GET', `/v1/employees/${leaver}`)).body).toMatchObject({ status: 'active', termination_date: date, termination_reason: null });
  });

  it('bad input: 400 and nothing written, no run', async () => {
    const { call, leaver, terminate, run } = await team();
    const cases: [Record<string, unknown>, string, string][] = [
      [{}, 'parameter_missing', 'termination_date'],
      [{ termination_date: '2026-02-30' }, 'parameter_invalid', 'termination_date'],
      [{ termination_date: '31.12.2026' }, 'parameter_invalid', 'termination_date'],
      [{ termination_date: '2019-12-31' }, 'parameter_invalid', 'termination_date'], // before the hire date
      [{ termination_date: addDays(today(), 4 * 366) }, 'parameter_invalid', 'termination_date'], // too far ahead
      [{ termination_date: yesterday(), reason: 'x'.repeat(1001) }, 'parameter_invalid', 'reason'],
      [{ termination_date: yesterday(), fired: true }, 'parameter_unknown', 'fired'],
    ];
    for (const [body, code, param] of cases) {
      const res = await terminate(leaver, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
    }
    expect((await call('GET', `/v1/employees/${leaver}`)).body).toMatchObject({ status: 'active', termination_date: null, termination_reason: null });
    await expect(run(leaver).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('a second termination: 409 resource_exists; another tenant’s or an unknown employee: 404', async () => {
    const { leaver, report, terminate, run } = await team();
    expect((await terminate(leaver, { termination_date: yesterday() })).status).toBe(202);
    const again = await terminate(leaver, { termination_date: yesterday() });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_exists' });
    await run(leaver).result();
    expect((await terminate(leaver, { termination_date: today() })).body.error.code).toBe('resource_exists'); // terminated by now

    const other = await h.newTenant();
    const foreign = await other.call('POST', `/v1/employees/${report}/terminate`, { body: { termination_date: yesterday() } });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toMatchObject({ code: 'resource_missing' });
    expect((await terminate('emp_nope', { termination_date: yesterday() })).status).toBe(404);
    // The admin key is for /v1/admin and /v1/ops only (contract §0).
    expect((await h.admin('POST', `/v1/employees/${report}/terminate`, { body: { termination_date: yesterday() } })).status).toBe(403);
    await expect(run(report).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('the same request again (same Idempotency-Key) answers the same and starts one run', async () => {
    const { leaver, terminate, run } = await team();
    const body = { termination_date: tomorrow(), reason: 'Contract ended' };
    const first = await terminate(leaver, body, 'terminate-1');
    expect(first.status).toBe(202);
    const { runId } = await run(leaver).describe();
    const again = await terminate(leaver, body, 'terminate-1');
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await run(leaver).describe()).runId).toBe(runId);
  });

  it('a retry whose first attempt stored the termination but never started the run adopts it and starts the one run', async () => {
    const { tenant, leaver, report, terminate, run } = await team();
    // What a crash between the API's commit and its start leaves behind.
    await withTransaction(h.pool, (client) => scheduleTermination(client, {
      tenantId: tenant.id, employeeId: leaver, terminationDate: yesterday(), reason: null, requestKey: 'lost-answer',
    }));
    const retry = await terminate(leaver, { termination_date: yesterday() }, 'lost-answer');
    expect(retry.status).toBe(202);
    expect(await run(leaver).result()).toMatchObject({ status: 'terminated', reportsMoved: 1 });
    // Another request (another key) is a second termination.
    await withTransaction(h.pool, (client) => scheduleTermination(client, {
      tenantId: tenant.id, employeeId: report, terminationDate: yesterday(), reason: null, requestKey: 'first',
    }));
    expect((await terminate(report, { termination_date: yesterday() }, 'second')).status).toBe(409);
  });
});
