import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, nthMonday, utcYear } from '../../test/calendar.js';
import { eventually } from '../../test/eventually.js';
import { actorHeaders, startHarness, type Harness } from '../../test/harness.js';
import { approveUpdate } from '../../workflows/hr/types.js';
import { holdRowLock } from '../../test/row-lock.js';
import { leaveTeam } from '../../test/hr-fixture.js';

/**
 * Leave requests and decisions when the API died after the work and before the answer was stored
 * under the Idempotency-Key (see api/payments/lost-answer.test.ts): the client's retry with the
 * same key and body (and a fresh Steadfast-Actor token) takes the stale record over and runs the
 * request again. It must answer as the first attempt would have, with the same request, and
 * change nothing: one request, one reservation, one decision.
 */

const LEAVE_YEAR = utcYear() + 1;
const PAST_YEAR = utcYear() - 1;
const day = (week: number, days = 0) => addDays(nthMonday(LEAVE_YEAR, week), days);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '15000' } });
});
afterAll(async () => {
  await h?.close();
});

async function company() {
  const tenant = await h.newTenant();
  const { call } = tenant;
  const { manager, worker } = await leaveTeam(call, 'L');
  for (const id of [manager, worker]) {
    for (const year of [LEAVE_YEAR, PAST_YEAR]) {
      const res = await call('POST', `/v1/employees/${id}/leave-allocations`, { body: { leave_type: 'annual', year, days: 10 } });
      expect(res.status).toBe(201);
    }
  }

  /** The key's record as a process killed before storing the answer leaves it, its lock long stale. */
  const loseAnswer = async (key: string) => {
    const { rowCount } = await h.pool.query(
      `UPDATE idempotency_keys SET status = 'in_flight', response_status = NULL, response_body = NULL,
         locked_at = now() - interval '1 hour'
       WHERE scope = $1 AND key = $2 AND status = 'done'`,
      [tenant.id, key],
    );
    expect(rowCount).toBe(1);
    await h.redis.del(`idem:${tenant.id}:${key}`);
  };
  /** The first attempt still at work when its lock went stale: the retry takes the record over. */
  const staleLock = async (key: string) => {
    const { rowCount } = await h.pool.query(
      `UPDATE idempotency_keys SET locked_at = now() - interval '1 hour' WHERE scope = $1 AND key = $2 AND status = 'in_flight'`,
      [tenant.id, key],
    );
    expect(rowCount).toBe(1);
  };
  const takenOver = async (key: string) => (await h.pool.query(
    `SELECT 1 FROM idempotency_keys WHERE scope = $1 AND key = $2 AND locked_at > now() - interval '1 minute'`, [tenant.id, key],
  )).rowCount === 1;
  const releaseKey = async (key: string) => {
    await h.pool.query(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2`, [tenant.id, key]);
    await h.redis.del(`idem:${tenant.id}:${key}`);
  };
  const create = (body: Record<string, unknown>, key?: string) =>
    call('POST', '/v1/leave-requests', { body: { leave_type: 'annual', ...body }, ...(key ? { idempotencyKey: key } : {}) });
  const act = async (id: string, action: 'approve' | 'reject' | 'cancel', sub: string, key: string, body: Record<string, unknown> = {}) =>
    call('POST', `/v1/leave-requests/${id}/${action}`, { body, idempotencyKey: key, headers: await actorHeaders(tenant, sub) });
  const requestsOf = async (employeeId: string) =>
    (await h.pool.query(`SELECT id, status FROM leave_requests WHERE employee_id = $1 ORDER BY id`, [employeeId])).rows;
  const balance = async (employeeId: string, year: number) =>
    (await call('GET', `/v1/employees/${employeeId}/leave-balances?year=${year}`)).body[0];
  const actions = (request: Record<string, any>) => (request.history as { action: string }[]).map((e) => e.action);
  return {
    call, tenantId: tenant.id, manager, worker, loseAnswer, staleLock, takenOver, releaseKey, create, act, requestsOf, balance, actions,
  };
}

/** Holds one row's lock in a transaction of its own: a step that needs it waits until `release`. */
const holdRow = (table: 'employees' | 'leave_requests', id: string) => holdRowLock(h.pool, table, id);

/**
 * The first attempt is held at its step (a row lock); its record goes stale, the retry takes it
 * over and runs while the first is still at work; then the step goes on. Both answers.
 */
async function overlapping<T>(
  lock: Awaited<ReturnType<typeof holdRow>>, key: string, attempt: () => Promise<T>,
  stale: { staleLock(key: string): Promise<void>; takenOver(key: string): Promise<boolean> },
): Promise<[T, T]> {
  let first: Promise<T>;
  let retry: Promise<T>;
  try {
    first = attempt();
    await eventually(lock.waiters, (n) => n >= 1);
    await stale.staleLock(key);
    retry = attempt();
    await eventually(() => stale.takenOver(key), Boolean);
    await new Promise((r) => setTimeout(r, 300)); // the retry reaches its step (or its Update the run) meanwhile
  } finally {
    await lock.release();
  }
  return Promise.all([first, retry]);
}

describe('a leave retry after the answer was lost acts once and answers the same', () => {
  it('create: 201 with the same request (not 409 leave_conflict), one request, one reservation', async () => {
    const { worker, loseAnswer, create, requestsOf, balance } = await company();
    const key = `leave-${randomUUID()}`;
    const body = { employee_id: worker, start_date: day(12), end_date: day(12, 1), reason: 'Hiking' };
    const first = await create(body, key);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ object: 'leave_request', status: 'pending', days: 2 });

    await loseAnswer(key);
    const retry = await create(body, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(await requestsOf(worker)).toEqual([{ id: first.body.id, status: 'pending' }]);
    expect(await balance(worker, LEAVE_YEAR)).toMatchObject({ reserved: 2, available: 8 });
  });

  it('create for an employee without a manager (approved at once): the same request', async () => {
    const { call, manager, loseAnswer, create, requestsOf, balance } = await company();
    const key = `leave-boss-${randomUUID()}`;
    // A leave that has started: the run closes once approved and the employee notified.
    const body = { employee_id: manager, start_date: nthMonday(PAST_YEAR, 14), end_date: nthMonday(PAST_YEAR, 14) };
    const first = await create(body, key);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'approved', days: 1 });

    // The run notifies the employee after the answer: the retry answers the request as it is now.
    await h.temporal.workflow.getHandle(`leave-${first.body.id}`).result();
    await loseAnswer(key);
    const retry = await create(body, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ id: first.body.id, status: 'approved', days: 1 });
    expect(retry.body).toEqual((await call('GET', `/v1/leave-requests/${first.body.id}`)).body);
    expect(await requestsOf(manager)).toHaveLength(1);
    expect(await balance(manager, PAST_YEAR)).toMatchObject({ used: 1, reserved: 0, available: 9 });
  });

  it('create: the same key for other dates, after the key was released, is 422 and writes nothing', async () => {
    const { worker, releaseKey, create, requestsOf, balance } = await company();
    const key = `leave-reused-${randomUUID()}`;
    const first = await create({ employee_id: worker, start_date: day(16), end_date: day(16) }, key);
    expect(first.status).toBe(201);
    await releaseKey(key);
    const other = await create({ employee_id: worker, start_date: day(18), end_date: day(18) }, key);
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    expect(await requestsOf(worker)).toHaveLength(1);
    expect(await balance(worker, LEAVE_YEAR)).toMatchObject({ reserved: 1 });
  });

  it('create without a key, twice: the second overlaps the first (409 leave_conflict), as before', async () => {
    const { worker, create } = await company();
    const body = { employee_id: worker, start_date: day(20), end_date: day(20) };
    expect((await create(body)).status).toBe(201);
    const again = await create(body);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('leave_conflict');
  });

  it('approve of a leave that has started (the run has closed): 200 approved, one decision', async () => {
    const { manager, worker, loseAnswer, create, act, balance, actions } = await company();
    const monday = nthMonday(PAST_YEAR, 10);
    const created = await create({ employee_id: worker, start_date: monday, end_date: addDays(monday, 1) });
    expect(created.body).toMatchObject({ status: 'pending', days: 2 });
    const key = `approve-${randomUUID()}`;
    const first = await act(created.body.id, 'approve', manager, key, { comment: 'Enjoy' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'approved' });
    await h.temporal.workflow.getHandle(`leave-${created.body.id}`).result(); // started leave: nothing left to wait for

    await loseAnswer(key);
    const retry = await act(created.body.id, 'approve', manager, key, { comment: 'Enjoy' });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(actions(retry.body).filter((a) => a === 'approved')).toHaveLength(1);
    expect(await balance(worker, PAST_YEAR)).toMatchObject({ used: 2, reserved: 0, available: 8 });
  });

  it('approve of a future leave (the run waits for its start): 200 approved, one decision', async () => {
    const { manager, worker, loseAnswer, create, act, balance, actions } = await company();
    const created = await create({ employee_id: worker, start_date: day(22), end_date: day(22, 2) });
    const key = `approve-open-${randomUUID()}`;
    const first = await act(created.body.id, 'approve', manager, key);
    expect(first.status).toBe(200);

    await loseAnswer(key);
    const retry = await act(created.body.id, 'approve', manager, key);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(actions(retry.body).filter((a) => a === 'approved')).toHaveLength(1);
    expect(await balance(worker, LEAVE_YEAR)).toMatchObject({ used: 3, reserved: 0 });
  });

  it('reject: 200 rejected (not 409), one decision, the days back once', async () => {
    const { manager, worker, loseAnswer, create, act, balance, actions } = await company();
    const created = await create({ employee_id: worker, start_date: day(24), end_date: day(24) });
    const key = `reject-${randomUUID()}`;
    const first = await act(created.body.id, 'reject', manager, key, { comment: 'Busy week' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'rejected' });

    await loseAnswer(key);
    const retry = await act(created.body.id, 'reject', manager, key, { comment: 'Busy week' });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(actions(retry.body).filter((a) => a === 'rejected')).toHaveLength(1);
    expect(await balance(worker, LEAVE_YEAR)).toMatchObject({ used: 0, reserved: 0, available: 10 });
  });

  it('cancel by the employee: 200 cancelled (not 409), one cancellation', async () => {
    const { worker, loseAnswer, create, act, balance, actions } = await company();
    const created = await create({ employee_id: worker, start_date: day(26), end_date: day(26) });
    const key = `cancel-${randomUUID()}`;
    const first = await act(created.body.id, 'cancel', worker, key);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'cancelled' });

    await loseAnswer(key);
    const retry = await act(created.body.id, 'cancel', worker, key);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(actions(retry.body).filter((a) => a === 'cancelled')).toHaveLength(1);
    expect(await balance(worker, LEAVE_YEAR)).toMatchObject({ reserved: 0, available: 10 });
  });
});

describe('a leave retry while the first attempt is still at work joins it', () => {
  it('create: both answers are the one request', async () => {
    const co = await company();
    const key = `leave-joined-${randomUUID()}`;
    const body = { employee_id: co.worker, start_date: day(32), end_date: day(32) };
    const [a, b] = await overlapping(await holdRow('employees', co.worker), key, () => co.create(body, key), co);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.id).toBe(a.body.id);
    expect(await co.requestsOf(co.worker)).toHaveLength(1);
    expect(await co.balance(co.worker, LEAVE_YEAR)).toMatchObject({ reserved: 1 });
  });

  it('approve: both answers are the one decision (the retry is not refused as "busy")', async () => {
    const co = await company();
    const created = await co.create({ employee_id: co.worker, start_date: day(34), end_date: day(34) });
    const key = `approve-joined-${randomUUID()}`;
    const [a, b] = await overlapping(
      await holdRow('leave_requests', created.body.id), key, () => co.act(created.body.id, 'approve', co.manager, key), co,
    );
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body).toMatchObject({ id: created.body.id, status: 'approved' });
    expect(co.actions(b.body).filter((x) => x === 'approved')).toHaveLength(1);
    expect(await co.balance(co.worker, LEAVE_YEAR)).toMatchObject({ used: 1, reserved: 0 });
  });
});

describe('other HR requests', () => {
  it('leave allocation: the retry allocates nothing more and answers the same balances', async () => {
    const { call, tenantId, worker, loseAnswer, balance } = await company();
    const key = `allocate-${randomUUID()}`;
    const post = () => call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'annual', year: LEAVE_YEAR, days: 2.5 }, idempotencyKey: key });
    const first = await post();
    expect(first.status).toBe(201);
    expect(first.body.data[0]).toMatchObject({ leave_type: 'annual', allocated: 12.5 });

    await loseAnswer(key);
    const retry = await post();
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(await balance(worker, LEAVE_YEAR)).toMatchObject({ allocated: 12.5 });
    const { rows } = await h.pool.query(
      `SELECT count(*)::int AS n FROM leave_ledger WHERE tenant_id = $1 AND employee_id = $2 AND kind = 'allocation' AND year = $3`,
      [tenantId, worker, LEAVE_YEAR],
    );
    expect(rows[0].n).toBe(2); // the set-up's 10 days and these 2.5
  });
});

describe('what the fix relies on: the Temporal server runs one Update per id', () => {
  it('a repeated Update id gets the first outcome, on an open run and on a closed one; a new id is refused', async () => {
    const { manager, worker, create } = await company();
    for (const [start, closes] of [[day(30), false], [nthMonday(PAST_YEAR, 30), true]] as const) {
      const created = await create({ employee_id: worker, start_date: start, end_date: start });
      const handle = h.temporal.workflow.getHandle(`leave-${created.body.id}`);
      const approve = (updateId: string) => handle.executeUpdate(approveUpdate, { updateId, args: [{ approverId: manager }] });
      await approve('approve:k1');
      if (closes) await handle.result();
      expect((await handle.describe()).status.name).toBe(closes ? 'COMPLETED' : 'RUNNING');
      // The handler does not run again (it would be refused: the request is no longer pending).
      await expect(approve('approve:k1')).resolves.toBeUndefined();
      await expect(approve('approve:k2')).rejects.toBeInstanceOf(closes ? WorkflowNotFoundError : WorkflowUpdateFailedError);
    }
  });
});
