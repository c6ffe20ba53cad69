import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, actorHeaders, sentBeforeAnyWorker, startHarness, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';
import { createLeaveActivities } from '../../activities/hr/leave-activities.js';

/**
 * The escalation and expiry timers run for real, so they are short; each test gets an API of its own
 * with only the timer it watches short (the other an hour away), and every wait is a poll with a wide
 * margin. Nothing asserts on a state that a slow machine could skip past: what happened before a
 * timer fired is read back from the request's history and the leave ledger afterwards.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '15000' } });
});
afterAll(async () => {
  await h?.close();
});

/** Leave dates next year, computed from today (a fixed year would turn into the past). */
const YEAR = new Date().getUTCFullYear() + 1;
function monday(month: number, plusDays = 0): string {
  const first = new Date(Date.UTC(YEAR, month - 1, 1));
  const toMonday = (8 - first.getUTCDay()) % 7;
  return new Date(first.getTime() + (toMonday + plusDays) * 86_400_000).toISOString().slice(0, 10);
}

/** An API whose leave approvals escalate and expire after these durations (ms). */
function apiWith(timers: { escalationAfterMs: number; expiryAfterMs: number }) {
  const config = {
    ...h.config, LEAVE_ESCALATION_AFTER: timers.escalationAfterMs, LEAVE_EXPIRY_AFTER: timers.expiryAfterMs, RATE_LIMIT_ENABLED: false,
  };
  const app = createApp({ config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal });
  return (apiKey: string) => async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await app.request(path, {
      method, headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
}

async function org(api: ReturnType<typeof apiWith>) {
  const tenant = await h.newTenant();
  const call = api(tenant.apiKey);
  await call('POST', '/v1/leave-types', { code: 'annual', name: 'Annual leave' });
  let n = 0;
  const employee = async (managerId?: string) => (await call('POST', '/v1/employees', {
    employee_number: `N${++n}`, first_name: 'X', last_name: `Y${n}`, email: `x${n}@example.com`, department: 'Ops', hire_date: '2022-02-01', ...(managerId ? { manager_id: managerId } : {}),
  })).body.id as string;
  const director = await employee();
  const manager = await employee(director);
  const worker = await employee(manager);
  await call('POST', `/v1/employees/${worker}/leave-allocations`, { leave_type: 'annual', year: YEAR, days: 5 });
  const request = (start: string, end: string) => call('POST', '/v1/leave-requests', { employee_id: worker, leave_type: 'annual', start_date: start, end_date: end });
  const requestOf = async (id: string) => (await call('GET', `/v1/leave-requests/${id}`)).body;
  /** The request's headers when `sub` acts (Steadfast-Actor). */
  const as = (sub: string) => actorHeaders(tenant, sub);
  return { tenantId: tenant.id, call, director, manager, worker, request, requestOf, as };
}

describe('leave escalation and expiry', () => {
  it('undecided after LEAVE_ESCALATION_AFTER: escalated to the approver’s manager, who can approve; the original cannot', async () => {
    const { call, director, manager, request, requestOf, as } = await org(apiWith({ escalationAfterMs: 1_000, expiryAfterMs: 3_600_000 }));
    const res = await request(monday(9), monday(9, 1));
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending');
    await expect.poll(async () => (await requestOf(res.body.id)).approver_id, { timeout: 30_000 }).toBe(director);
    // The new approver is notified right after the escalation.
    await expect.poll(async () => (await requestOf(res.body.id)).history.length, { timeout: 30_000 }).toBe(4);
    const escalated = await requestOf(res.body.id);
    expect(escalated.history.map((e: { action: string }) => e.action)).toEqual(['requested', 'notified', 'escalated', 'notified']);
    expect(escalated.history[1]).toMatchObject({ action: 'notified', event: 'leave.requested', recipient_id: manager });
    expect(escalated.history[2]).toMatchObject({ action: 'escalated', approver_id: director, previous_approver_id: manager });
    expect(escalated.history[3]).toMatchObject({ action: 'notified', event: 'leave.escalated', recipient_id: director });
    const byOriginal = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, {}, await as(manager));
    expect(byOriginal.status).toBe(403);
    expect(byOriginal.body.error.code).toBe('not_approver');
    const byDirector = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, { approver_id: director }, await as(director));
    expect(byDirector.body).toMatchObject({ status: 'approved' });
  });

  it('undecided after LEAVE_EXPIRY_AFTER: expired, and the reservation released', async () => {
    const { tenantId, call, worker, request, requestOf, as } = await org(apiWith({ escalationAfterMs: 1_000, expiryAfterMs: 2_000 }));
    const res = await request(monday(10), monday(10, 2));
    expect(res.status).toBe(201);
    expect(res.body.days).toBe(3);
    await expect.poll(async () => (await requestOf(res.body.id)).status, { timeout: 30_000 }).toBe('expired');
    // Reserved when requested, released when it expired (read from the ledger: the balance in between
    // lasted only until the timer, which a slow machine may already have passed).
    const { rows } = await h.pool.query(
      'SELECT kind, days::float8 AS days FROM leave_ledger WHERE tenant_id = $1 AND leave_request_id = $2 ORDER BY created_at, kind',
      [tenantId, res.body.id],
    );
    expect(rows).toEqual([{ kind: 'reservation', days: 3 }, { kind: 'reservation_release', days: -3 }]);
    expect((await call('GET', `/v1/employees/${worker}/leave-balances?year=${YEAR}`)).body[0]).toMatchObject({ reserved: 0, used: 0, available: 5 });
    const { approver_id: approver } = await requestOf(res.body.id);
    const late = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, {}, await as(approver));
    expect(late.status).toBe(409);
  });
});

describe('a leave run a step behind its row', () => {
  it('the escalated approver decides as soon as the row names them, before the run has heard of the escalation: it waits and approves', async () => {
    const lagging = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '5000', LEAVE_ESCALATION_AFTER: '1s', LEAVE_EXPIRY_AFTER: '1h' } });
    try {
      const stopWorker = await lagging.startWorker();
      const tenant = await lagging.newTenant();
      const { call } = tenant;
      await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } });
      let n = 0;
      const employee = async (managerId?: string) => (await call('POST', '/v1/employees', {
        body: {
          employee_number: `L${++n}`, first_name: 'X', last_name: `Y${n}`, email: `l${n}@example.com`, department: 'Ops', hire_date: '2022-02-01',
          ...(managerId ? { manager_id: managerId } : {}),
        },
      })).body.id as string;
      const director = await employee();
      const manager = await employee(director);
      const worker = await employee(manager);
      await call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'annual', year: YEAR, days: 5 } });
      const created = await call('POST', '/v1/leave-requests', { body: { employee_id: worker, leave_type: 'annual', start_date: monday(11), end_date: monday(11, 1) } });
      expect(created.body).toMatchObject({ status: 'pending', approver_id: manager });
      await stopWorker();

      // The escalation timer fires with no worker; its step commits (as a worker would) and names the director.
      await new Promise((r) => setTimeout(r, 1_500));
      const id = created.body.id as string;
      const escalatedTo = await createLeaveActivities({ pool: lagging.pool }).escalateLeave({ tenantId: tenant.id, requestId: id, idempotencyKey: `leave-${id}:escalate` });
      expect(escalatedTo).toBe(director);
      expect((await call('GET', `/v1/leave-requests/${id}`)).body.approver_id).toBe(director);

      // The director approves what they read; the run's validator still names the manager.
      const approval = call('POST', `/v1/leave-requests/${id}/approve`, { body: {}, headers: await actorHeaders(tenant, director) });
      const approved = await sentBeforeAnyWorker(lagging, approval);
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      expect(approved.body).toMatchObject({ status: 'approved', approver_id: director });
      expect(approved.body.history.filter((e: { action: string }) => e.action === 'escalated')).toHaveLength(1);
      // The original approver is refused (the row no longer names them: no waiting for the run).
      const byManager = await call('POST', `/v1/leave-requests/${id}/reject`, { body: {}, headers: await actorHeaders(tenant, manager) });
      expect([byManager.status, byManager.body.error?.code]).toEqual([403, 'not_approver']);
    } finally {
      await lagging.close();
    }
  }, 60_000);
});
