import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '15000', LEAVE_ESCALATION_AFTER: '2s', LEAVE_EXPIRY_AFTER: '5s' } });
});
afterAll(async () => {
  await h?.close();
});

async function org() {
  const { call } = await h.newTenant();
  await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } });
  let n = 0;
  const employee = async (managerId?: string) => (await call('POST', '/v1/employees', {
    body: { employee_number: `N${++n}`, first_name: 'X', last_name: `Y${n}`, email: `x${n}@example.com`, department: 'Ops', hire_date: '2022-02-01', ...(managerId ? { manager_id: managerId } : {}) },
  })).body.id as string;
  const director = await employee();
  const manager = await employee(director);
  const worker = await employee(manager);
  await call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'annual', year: 2027, days: 5 } });
  const request = (start: string, end: string) =>
    call('POST', '/v1/leave-requests', { body: { employee_id: worker, leave_type: 'annual', start_date: start, end_date: end } });
  return { call, director, manager, worker, request };
}

describe('leave escalation and expiry', () => {
  it('undecided after LEAVE_ESCALATION_AFTER: escalated to the approver’s manager, who can approve; the original cannot', async () => {
    const { call, director, manager, request } = await org();
    const res = await request('2027-09-06', '2027-09-07');
    expect(res.body).toMatchObject({ status: 'pending', approver_id: manager });
    await expect.poll(async () => (await call('GET', `/v1/leave-requests/${res.body.id}`)).body.approver_id, { timeout: 15_000 }).toBe(director);
    // The new approver is notified right after the escalation.
    await expect.poll(async () => (await call('GET', `/v1/leave-requests/${res.body.id}`)).body.history.length).toBe(4);
    const escalated = (await call('GET', `/v1/leave-requests/${res.body.id}`)).body;
    expect(escalated.history).toContainEqual(expect.objectContaining({ action: 'escalated', approver_id: director, previous_approver_id: manager }));
    expect(escalated.history).toContainEqual(expect.objectContaining({ action: 'notified', event: 'leave.escalated', recipient_id: director }));
    const byOriginal = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, { body: { approver_id: manager } });
    expect(byOriginal.status).toBe(403);
    expect(byOriginal.body.error.code).toBe('not_approver');
    const byDirector = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, { body: { approver_id: director } });
    expect(byDirector.body).toMatchObject({ status: 'approved' });
  });

  it('undecided after LEAVE_EXPIRY_AFTER: expired, and the reservation released', async () => {
    const { call, worker, request } = await org();
    const res = await request('2027-10-04', '2027-10-06');
    expect((await call('GET', `/v1/employees/${worker}/leave-balances?year=2027`)).body[0]).toMatchObject({ reserved: 3, available: 2 });
    await expect.poll(async () => (await call('GET', `/v1/leave-requests/${res.body.id}`)).body.status, { timeout: 20_000 }).toBe('expired');
    expect((await call('GET', `/v1/employees/${worker}/leave-balances?year=2027`)).body[0]).toMatchObject({ reserved: 0, used: 0, available: 5 });
    const { approver_id: approver } = (await call('GET', `/v1/leave-requests/${res.body.id}`)).body;
    const late = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, { body: { approver_id: approver } });
    expect(late.status).toBe(409);
  });
});
