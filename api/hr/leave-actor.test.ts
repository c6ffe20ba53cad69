import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, nthMonday, utcYear } from '../../test/calendar.js';
import { actorHeaders, startHarness, type Harness } from '../../test/harness.js';
import { leaveTeam } from '../../test/hr-fixture.js';

/**
 * Leave approve, reject and cancel take the person from the `Steadfast-Actor` JWT (contract §0,
 * §4), never from the body alone: the approver must be the actor, the employee must be the actor,
 * and a body field naming the person must match the actor. A refusal changes nothing.
 */

const LEAVE_YEAR = utcYear() + 1;
const day = (week: number, days = 0) => addDays(nthMonday(LEAVE_YEAR, week), days);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '15000' } });
});
afterAll(async () => {
  await h?.close();
});

/** A tenant with a manager and a worker (10 days of annual leave) and one pending request of the worker's. */
async function pendingRequest() {
  const tenant = await h.newTenant();
  const { call } = tenant;
  const { manager, worker } = await leaveTeam(call, 'A');
  await call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'annual', year: LEAVE_YEAR, days: 10 } });
  const created = await call('POST', '/v1/leave-requests', {
    body: { employee_id: worker, leave_type: 'annual', start_date: day(20), end_date: day(20, 1) },
  });
  expect(created.body).toMatchObject({ status: 'pending', approver_id: manager });
  const id = created.body.id as string;
  const post = async (action: 'approve' | 'reject' | 'cancel', actor: string | null, body: Record<string, unknown> = {}) =>
    call('POST', `/v1/leave-requests/${id}/${action}`, { body, headers: actor === null ? {} : await actorHeaders(tenant, actor) });
  const status = async () => (await call('GET', `/v1/leave-requests/${id}`)).body.status as string;
  return { manager, worker, post, status };
}

describe('leave decisions take the acting user', () => {
  it('without Steadfast-Actor: 401 actor_missing, even with approver_id or employee_id in the body', async () => {
    const { manager, worker, post, status } = await pendingRequest();
    for (const [action, body] of [['approve', { approver_id: manager }], ['reject', { approver_id: manager }], ['cancel', { employee_id: worker }]] as const) {
      const res = await post(action, null, body);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'actor_missing' });
    }
    expect(await status()).toBe('pending');
  });

  it('approve or reject by an actor who is not the current approver: 403 not_approver', async () => {
    const { worker, post, status } = await pendingRequest();
    for (const action of ['approve', 'reject'] as const) {
      const res = await post(action, worker);
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ type: 'permission_error', code: 'not_approver' });
    }
    // The body cannot lend the actor someone else's identity.
    expect((await post('approve', 'emp_someone_else', {})).body.error.code).toBe('not_approver');
    expect(await status()).toBe('pending');
  });

  it('a body approver_id or employee_id other than the actor: 403 forbidden', async () => {
    const { manager, worker, post, status } = await pendingRequest();
    const approve = await post('approve', worker, { approver_id: manager });
    expect(approve.status).toBe(403);
    expect(approve.body.error).toMatchObject({ type: 'permission_error', code: 'forbidden', message: expect.stringContaining('approver_id') });
    expect((await post('reject', worker, { approver_id: manager })).body.error.code).toBe('forbidden');
    const cancel = await post('cancel', manager, { employee_id: worker });
    expect(cancel.status).toBe(403);
    expect(cancel.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('employee_id') });
    expect(await status()).toBe('pending');
  });

  it('cancel by someone other than the employee: 403; the employee cancels', async () => {
    const { manager, worker, post, status } = await pendingRequest();
    const byManager = await post('cancel', manager);
    expect(byManager.status).toBe(403);
    expect(byManager.body.error.type).toBe('permission_error');
    expect(await status()).toBe('pending');
    const byWorker = await post('cancel', worker);
    expect(byWorker.status).toBe(200);
    expect(byWorker.body).toMatchObject({ status: 'cancelled' });
  });

  it('the approver as the actor approves, with or without a matching approver_id; the history names them', async () => {
    const { manager, post } = await pendingRequest();
    const res = await post('approve', manager, { approver_id: manager, comment: 'Enjoy' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'approved' });
    expect(res.body.history).toContainEqual(expect.objectContaining({ action: 'approved', actor_id: manager, comment: 'Enjoy' }));
    const other = await pendingRequest();
    expect((await other.post('reject', other.manager)).body).toMatchObject({ status: 'rejected' });
  });
});

describe('a new manager takes over pending approvals (contract §4 employees)', () => {
  it('the employee’s manager changes: the pending request moves (history reassigned), the old manager can no longer decide, the new one can', async () => {
    const tenant = await h.newTenant();
    const { call } = tenant;
    const { manager, worker } = await leaveTeam(call, 'R');
    const newManager = (await call('POST', '/v1/employees', {
      body: { employee_number: 'R-9', first_name: 'New', last_name: 'Boss', email: 'r9@example.com', department: 'Ops', hire_date: '2020-01-15' },
    })).body.id as string;
    await call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'annual', year: LEAVE_YEAR, days: 10 } });
    const created = await call('POST', '/v1/leave-requests', {
      body: { employee_id: worker, leave_type: 'annual', start_date: day(30), end_date: day(30, 1) },
    });
    expect(created.body.approver_id).toBe(manager);
    const id = created.body.id as string;

    const moved = await call('POST', `/v1/employees/${worker}`, { body: { manager_id: newManager } });
    expect(moved.status).toBe(200);
    const request = (await call('GET', `/v1/leave-requests/${id}`)).body;
    expect(request).toMatchObject({ status: 'pending', approver_id: newManager });
    expect(request.history).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'reassigned', approver_id: newManager, previous_approver_id: manager }),
    ]));
    expect((await call('GET', `/v1/leave-requests?approver_id=${newManager}&status=pending`)).body.data.map((r: { id: string }) => r.id)).toEqual([id]);

    const byOld = await call('POST', `/v1/leave-requests/${id}/approve`, { body: {}, headers: await actorHeaders(tenant, manager) });
    expect(byOld.status).toBe(403);
    expect(byOld.body.error.code).toBe('not_approver');
    const byNew = await call('POST', `/v1/leave-requests/${id}/approve`, { body: {}, headers: await actorHeaders(tenant, newManager) });
    expect(byNew.status).toBe(200);
    expect(byNew.body).toMatchObject({ status: 'approved', approver_id: newManager });

    // Back to the first manager: a decided request stays with whoever decided it.
    expect((await call('POST', `/v1/employees/${worker}`, { body: { manager_id: manager } })).status).toBe(200);
    expect((await call('GET', `/v1/leave-requests/${id}`)).body).toMatchObject({ status: 'approved', approver_id: newManager });
  });
});
